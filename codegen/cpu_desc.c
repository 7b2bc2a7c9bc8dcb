/* cpu_desc.c - the CPU backend's target description (passes/target.h).
 *
 * The numbers were tuned on x86-64 hosts (docs/cpu-backend.md, docs/gemm.md):
 *   parallel_min_trip 64   fewer iterations share out badly over a pool of threads
 *   split 32768 / 64       below 32768 elements per result one thread per result is fast
 *                          enough; 64 chunks, fixed, so sums do not depend on the threads
 *   gemm_rows 24           a multiple of every register block of the CPU GEMM (8 rows with
 *                          AVX-512, 6 with AVX2 or plain vectors; codegen/llvm/gemm.h), so no
 *                          share computes a partial block it could have avoided
 *   im2col_max_bytes       256 MiB of patch matrix per conv (its size is N * C * KH * KW *
 *                          OH * OW elements), so that a huge conv falls back to direct loops
 *                          rather than exhausting memory
 *   min_parallel_work      32768 innermost iterations: the hand-off costs more below
 *   min_gemm_macs          2^20 multiply-adds (2 MFLOP, some 10 to 20 microseconds on one
 *                          core): handing a share to a worker costs about as much as it saves
 *   split_bounds           LLVM vectorizes inner loops, which pads' bounds checks spoil
 *   unroll_reduce_max 4    a 2x2 pooling window unrolls, so LLVM vectorizes across windows
 */
#include "codegen/cpu.h"

static const mt_target_desc cpu = {
    .name = "cpu",
    .vector_bytes = 32,
    .parallel = 1,
    .parallel_min_trip = 64,
    .split_min = 32768,
    .split_chunks = 64,
    .has_gemm = 1,
    .gemm_rows = 24,
    .im2col_max_bytes = INT64_C(256) << 20,
    .min_parallel_work = 32768,
    .min_gemm_macs = INT64_C(1) << 20,
    .split_bounds = 1,
    .unroll_reduce_max = 4,
    .has_local = 0,
    .local_bytes = 0,
};

const mt_target_desc *mt_target_desc_cpu(void) { return &cpu; }
