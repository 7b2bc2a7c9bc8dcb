/* aotrt.h - the contract between a compiled model's generated code and its runtime.
 *
 * `mtc compile` (codegen/aot.c) puts two objects into libNAME.so: the LLVM module it generates
 * (every kernel, the GEMM functions, the baked-in weights, one constant mtrt_prog describing
 * the program, and the exported NAME_* functions, each a one-line call into the runtime) and
 * this runtime (aotrt.c), compiled once when mtc is built and carried inside mtc as bytes. The
 * runtime is generic: everything it knows about the model is in the descriptor, whose layout
 * is fixed here. aot.c emits the same layout as LLVM constants, so every field is 8 bytes
 * wide (int64_t or a pointer) and no padding can differ.
 *
 * The runtime needs only libc and pthreads, and it has no mutable global state but one
 * pthread key (per-thread scratch) and an optional worker pool, both created on first use.
 */
#ifndef MT_CODEGEN_AOTRT_AOTRT_H
#define MT_CODEGEN_AOTRT_AOTRT_H

#include <stddef.h>
#include <stdint.h>

#define MTRT_ABI_VERSION 1
#define MTRT_ALIGN 64 /* every buffer the runtime places starts at a multiple of this */

/* A compiled kernel (codegen/llvm/llvm.h's ABI). */
typedef void (*mtrt_kernel_fn)(void *const *bufs, int64_t begin, int64_t end);

/* Where a buffer of the program lives during a run. */
enum mtrt_kind {
    MTRT_INPUT = 0,  /* the caller's inputs[index] */
    MTRT_OUTPUT = 1, /* the caller's outputs[index] (the first output naming it) */
    MTRT_TEMP = 2,   /* the arena of the scratch, at byte offset `index` */
    MTRT_CONST = 3,  /* a baked-in param or state of an inference graph: `data`, read only */
    MTRT_STATE = 4,  /* a param or state of a step graph: the state block at byte offset `index` */
    MTRT_NONE = 5,   /* no kernel uses it */
};

typedef struct mtrt_buf {
    int64_t kind; /* enum mtrt_kind */
    int64_t index;
    int64_t bytes;
    int64_t elem;     /* bytes of one element: a caller's pointer must be aligned to it */
    const void *data; /* MTRT_CONST */
} mtrt_buf;

/* How the runtime runs one kernel. A kernel with trip > 0 is parallel: any split of [0, trip)
 * into ranges gives the same results, so large ones are shared among the pool's threads. */
typedef struct mtrt_kernel {
    mtrt_kernel_fn fn;
    int64_t trip;     /* iterations of the outer loop of a parallel kernel; 0: run whole */
    int64_t work;     /* innermost iterations of the whole kernel (mt_kernel.work) */
    int64_t quantum;  /* > 0: a matmul kernel whose shares start at multiples of this */
    int64_t row_macs; /* matmul kernels: multiply-adds per row */
    /* An allreduce kernel: 1 + the reduction (0 sum, 1 mean), else 0. After the kernel the
     * runtime hands buffer allreduce_buf (count values of dtype 0 = f32, 1 = f64) to the hook
     * of NAME_set_allreduce; without one the run has one rank. */
    int64_t allreduce, allreduce_buf, allreduce_count, allreduce_dtype;
} mtrt_kernel;

/* A param or state of a step graph, for NAME_state_get and NAME_state_set. */
typedef struct mtrt_named {
    const char *name; /* without '%' */
    int64_t offset;   /* in the state block */
    int64_t bytes;
    const void *init; /* the baked-in value; NULL: zeros */
} mtrt_named;

typedef struct mtrt_prog {
    int64_t abi; /* MTRT_ABI_VERSION */
    int64_t nbufs, nkernels, ninputs, noutputs, nupdates, nnamed;
    int64_t arena_bytes; /* temporaries */
    int64_t state_bytes; /* step graphs: every param and state, each at a multiple of 64 */
    /* When to share kernels among threads (mt_kexec): 0 parallel means never. */
    int64_t parallel, min_parallel_work, min_gemm_macs;
    const mtrt_buf *bufs;       /* nbufs */
    const mtrt_kernel *kernels; /* nkernels, run in order */
    const int64_t *outputs;     /* noutputs: the buffer of each output */
    const int64_t *updates;     /* 2 * nupdates: target buffer, value buffer */
    const mtrt_named *named;    /* nnamed */
    const char *signature;
} mtrt_prog;

typedef struct mtrt_state mtrt_state;

/* NAME_run: 0, or non-zero for a NULL argument or no memory for the scratch. */
int mtrt_run(const mtrt_prog *p, const void *const *inputs, void *const *outputs);
/* The step-graph API of SPEC section 5. */
mtrt_state *mtrt_state_new(const mtrt_prog *p);
int mtrt_step(const mtrt_prog *p, mtrt_state *s, const void *const *inputs, void *const *outputs);
int mtrt_state_get(const mtrt_prog *p, const mtrt_state *s, const char *name, void *dst,
                   size_t bytes);
int mtrt_state_set(const mtrt_prog *p, mtrt_state *s, const char *name, const void *src,
                   size_t bytes);
void mtrt_state_free(mtrt_state *s);
/* NAME_set_allreduce (SPEC section 5): the caller's MPI or NCCL reduces for every run of this
 * shared object from then on; NULL goes back to one rank. */
typedef int (*mtrt_allreduce_fn)(void *buf, size_t count, int dtype, int op, void *ctx);
void mtrt_set_allreduce(mtrt_allreduce_fn fn, void *ctx);

#endif
