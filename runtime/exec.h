/* exec.h - running a compiled kernel program (ir/kernel.h) over its buffers.
 *
 * The executor is target-independent: it binds the caller's tensors and fresh outputs to the
 * program's buffers, allocates one arena for the temporaries (at the offsets memory planning
 * chose), and calls each kernel's compiled entry point in order, splitting parallel kernels
 * over a thread pool. Each run has its own arena, so runs may overlap.
 */
#ifndef MT_RUNTIME_EXEC_H
#define MT_RUNTIME_EXEC_H

#include "ir/kernel.h"
#include "runtime/pool.h"
#include "runtime/tensor.h"

/* The compiled form of a kernel (the ABI of codegen/llvm/llvm.h). */
typedef void (*mt_kernel_fn)(void *const *bufs, int64_t begin, int64_t end);

/* Kernels with fewer innermost iterations than this run on the calling thread alone: the
 * hand-off would cost more than the work. */
#define MT_EXEC_MIN_PARALLEL_WORK 32768
/* A matmul kernel (mt_kernel_gemm) below this many multiply-adds (2 MFLOP, some 10 to 20
 * microseconds on one core) runs on the calling thread: handing a share to a worker costs
 * about as much as it saves. Above it, it is split into one share of rows per thread (each
 * share packs the whole of B once), at multiples of MT_EXEC_GEMM_ROWS. */
#define MT_EXEC_MIN_GEMM_MACS (INT64_C(1) << 20)
/* Shares of a matmul's rows start at multiples of this: a multiple of every register block
 * of the CPU GEMM (8 rows with AVX-512, 6 with AVX2 or plain vectors; codegen/llvm/gemm.h),
 * so no share computes a partial block it could have avoided. */
#define MT_EXEC_GEMM_ROWS 24

/* Runs p: fns[k] is kernel k's code. `leaves` has one slot per graph node (indexed by node
 * id, like runtime/interp.h); the slots of the program's input buffers must hold tensors of
 * the declared types. On success `outputs` (p->noutputs slots) holds new tensors; on failure
 * every slot is NULL. `pool` may be NULL (one thread). */
mt_status mt_exec_run(const mt_kprog *p, mt_kernel_fn const *fns, mt_pool *pool,
                      const mt_tensor *const *leaves, int nleaves, mt_tensor **outputs, mt_diag *d);

#endif
