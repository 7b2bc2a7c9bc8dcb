/* kernel_cost.h - how much arithmetic and memory traffic one run of a kernel asks for, read off
 * its loop nest (ir/kernel.h). `mtc profile` divides these by measured times to get GFLOP/s
 * and GB/s, and places each kernel under the roofline of the machine.
 *
 * flops  floating-point operations: every float add, sub, mul, div, neg, min, max, abs, sqrt,
 *        exp, log, tanh, pow and float comparison counts 1 (a transcendental is one operation,
 *        as tinygrad counts them, though it costs a dozen), times the trips of the loops around
 *        it; a GEMM row counts 2 * N * K (a multiply and an add per multiply-add). Index
 *        arithmetic, loads, casts and selects are not counted. A value shared inside one
 *        statement's expression is counted once, as the renderer computes it once.
 * bytes  the compulsory traffic: every buffer the kernel reads or writes, counted once at its
 *        full size, as if caches held everything that is reused and nothing else. A kernel
 *        that reads a buffer twice, or misses in the cache, moves more than this.
 */
#ifndef MT_IR_KERNEL_COST_H
#define MT_IR_KERNEL_COST_H

#include "ir/kernel.h"

typedef struct mt_kcost {
    double flops, bytes;
} mt_kcost;

/* The cost of kernel k of program p. MT_ERR_NOMEM when out of memory (the count keeps a set
 * of the expression nodes seen). */
mt_status mt_kernel_cost(const mt_kprog *p, const mt_kernel *k, mt_kcost *out, mt_diag *d);

#endif
