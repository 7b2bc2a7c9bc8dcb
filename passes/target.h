/* target.h - what the generic schedule (passes/schedule.c) needs to know about a target.
 *
 * Passes read these numbers instead of constants of one machine, so a renderer for another
 * target (a GPU, a shared object for another CPU) reuses fusion, lowering and memory planning
 * with its own description. The CPU backend's is mt_target_desc_cpu() (codegen/cpu_desc.c).
 * Nothing here changes what a kernel computes, only how its loops are arranged and shared.
 */
#ifndef MT_PASSES_TARGET_H
#define MT_PASSES_TARGET_H

#include <stdint.h>

typedef struct mt_target_desc {
    const char *name;
    int vector_bytes; /* widest vector register (bytes): a hint for inner-loop sizes */
    int parallel;     /* a kernel may be split across threads (the executor's pool) */
    /* A parallel loop should have at least this many iterations to share out: leading axes
     * with fewer are merged into one loop. */
    int64_t parallel_min_trip;
    /* A reduction with fewer than parallel_min_trip results over at least split_min elements
     * each becomes two kernels: split_chunks parallel partial sums, then their combination. */
    int64_t split_min;
    int64_t split_chunks;
    /* Matmul: has_gemm says the renderer turns a GEMM statement into its own product; when 0,
     * lowering writes the plain loop nest instead (parallel over rows and columns, a
     * reduction over K into an f64 accumulator, then the epilogue). */
    int has_gemm;
    int64_t gemm_rows; /* shares of a matmul's rows start at multiples of this */
    /* Conv on a target with a GEMM: the product of the weights and a patch matrix
     * (passes/lower_conv.c) when its temporaries take at most this many bytes, else the
     * direct loops. */
    int64_t im2col_max_bytes;
    /* The executor runs a kernel with less work than this on the calling thread (innermost
     * iterations), and a matmul kernel below min_gemm_macs multiply-adds. */
    int64_t min_parallel_work;
    int64_t min_gemm_macs;
    /* Cut inner loops where pad and concat bounds checks change (passes/split_bounds.c): for
     * renderers whose compiler vectorizes inner loops (LLVM), not those that map loops to
     * GPU threads. */
    int split_bounds;
    /* Unroll reduction loops of at most this many iterations (passes/unroll.c), so that the
     * loop around them is innermost for a vectorizer that works on innermost loops; 0: none. */
    int64_t unroll_reduce_max;
    /* Memory shared by a group of threads (GPU shared or local memory): none on a CPU. */
    int has_local;
    int64_t local_bytes;
} mt_target_desc;

#endif
