/* render.h - the C-style renderer: kernel IR (ir/kernel.h) -> CUDA C or OpenCL C source.
 *
 * One renderer, a small dialect per language (tinygrad's renderer/cstyle.py: CStyleLanguage,
 * CUDARenderer, OpenCLRenderer). The two languages differ only in the spellings a dialect
 * holds: kernel and buffer qualifiers, thread and group indices, type names, integer literal
 * suffixes, math function names, the 32-bit mulhi intrinsic and float bit casts. Everything
 * a kernel computes, and in what order, is decided by the kernel IR, so the LLVM, CUDA and
 * OpenCL code of a program share every decision made before rendering.
 *
 * Parameters: one pointer per buffer the kernel uses (ascending buffer ids, as
 * mt_kernel.bufs lists them), except temporaries in a dialect with arena_temps.
 *
 * Grid mapping (docs/gpu.md): a kernel whose body is a nest of loops marked
 * MT_KLOOP_PARALLEL (each one the only statement of the one above) runs the flattened nest as
 * a grid-stride loop: work-item g of G handles flat iterations g, g + G, g + 2G, ... and
 * recovers each loop variable by division, so any launch size is correct and the launch may
 * cap its groups. Everything inside the nest (reductions into a scalar, inner loops) runs in
 * one work-item, in the kernel IR's order, so results do not depend on the launch. Any other
 * kernel runs whole in work-item 0 (mt_c_kernel_items is 1). Long reductions get their
 * parallelism from the schedule: the GPU target description (codegen/gpu.h) asks lowering to
 * split them into chunked partial sums and their combination (passes/lower_split.c), and a
 * kernel with long reductions may instead give each iteration of its nest a work-group that
 * shares them (render_group.c). Elementwise kernels may take four consecutive elements per
 * work-item with float4 loads and stores (render_vec.c).
 *
 * GEMM statements (GPU targets describe themselves with has_gemm = 1, passes/target.h): a
 * matmul kernel of lowering's form, a parallel loop over the rows of C whose body is the GEMM
 * statement and an elementwise epilogue, becomes a tiled local-memory kernel
 * (render_gemm.c: mt_c_gemm_tiles); any other GEMM statement computes its row in the
 * work-item that runs it, summing in the same order.
 */
#ifndef MT_CODEGEN_C_RENDER_H
#define MT_CODEGEN_C_RENDER_H

#include <stdint.h>

#include "ir/alloc.h"
#include "ir/kernel.h"

typedef struct mt_c_dialect {
    const char *name; /* "cuda", "opencl" */
    /* The first lines of a translation unit; fp64_prelude too where a kernel uses f64. */
    const char *prelude, *fp64_prelude;
    const char *kernel;     /* before the kernel's name: "__kernel void" */
    const char *global;     /* before a buffer parameter's type: "__global " or "" */
    const char *restrict_;  /* after the '*' of a buffer that overlaps no other: "restrict" */
    const char *global_id;  /* this work-item's flat index in the grid, as an i64 expression */
    const char *global_num; /* the number of work-items in the grid, as an i64 expression */
    const char *types[6];   /* by mt_ktype: bool, i64, u32, u64, f32, f64 */
    const char *i64_suffix, *u64_suffix; /* of integer literals beyond 32 bits */
    int f32_math_suffix;                 /* f32 math calls add an 'f' (expf), else overloads */
    const char *mulhi;                   /* the high word of a u32 x u32 product: "mul_hi" */
    /* printf formats of a float from its bits, for infinities and NaNs (%08x, %016llx). */
    const char *f32_bits, *f64_bits;
    /* Temporaries are reached through one `arena` parameter of byte type `byte` (last, where a
     * kernel uses any), at the offsets memory planning chose, instead of a pointer parameter
     * each. Memory planning may store a temporary over an operand it replaces and the kernel
     * then reads the operand through the new buffer, so temporaries must share the arena;
     * OpenCL 1.2 can point into a buffer only with sub-buffers, whose origins must be aligned
     * to the device's CL_DEVICE_MEM_BASE_ADDR_ALIGN, which the plan does not promise. */
    int arena_temps;
    const char *byte;
    /* Work-groups (render_group.c): this work-item's index in its group, the group's index
     * and the number of groups (i64 expressions), a barrier that also orders the group's
     * local memory, the qualifier of an array in local memory, and the attribute (printf of
     * the group size) that fixes a kernel's group size. */
    const char *local_id, *group_id, *group_num, *barrier, *local, *group_attr;
    /* printf of a warp shuffle: the value of variable %s in the lane %d above this one, or
     * NULL where the language has none (the group tree then runs in local memory to the
     * end). The shuffles combine the last `warp` partials in the same order as the tree. */
    const char *shfl_down;
    int warp;
    /* float4 access (render_vec.c): printf of the load of buffer %d's float4 number `gv`,
     * and of the store of variable wb%d there (the buffer id twice); the alignment in bytes
     * a float4 access needs. vec_load NULL: no vectorised kernels. */
    const char *vec_load, *vec_store;
    int vec_align;
} mt_c_dialect;

extern const mt_c_dialect mt_c_cuda;   /* codegen/c/cuda.c */
extern const mt_c_dialect mt_c_opencl; /* codegen/c/opencl.c */

/* The whole program p as one translation unit: the prelude and every kernel, in order, named
 * "<prefix>k<N>" (prefix made of [A-Za-z0-9_]). The caller frees it with mt_free; NULL with d
 * set on failure (out of memory, a GEMM statement). */
char *mt_c_render_program(const mt_c_dialect *dl, const mt_kprog *p, const char *prefix,
                          mt_diag *d);

/* Whether buffer b of p is a parameter of its own of a kernel in dialect dl (else it is
 * reached through the arena parameter). */
int mt_c_buffer_is_param(const mt_c_dialect *dl, const mt_kprog *p, int b);
/* Whether kernel k takes the arena parameter (last) in dialect dl. */
int mt_c_kernel_takes_arena(const mt_c_dialect *dl, const mt_kprog *p, const mt_kernel *k);

/* The work-items kernel k's launch needs: the flat trip count of its parallel nest, or 1 when
 * it runs whole in work-item 0. A kernel rendered with group reductions (mt_c_kernel_group)
 * needs that many groups instead. */
int64_t mt_c_kernel_items(const mt_kernel *k);

/* The fixed work-group size of kernel k of p when the renderer gives each iteration of its
 * parallel nest a whole group that shares its reductions (render_group.c), else 0 (any
 * group size; one work-item per iteration). The launch must use exactly this size. */
int mt_c_kernel_group(const mt_kprog *p, const mt_kernel *k);

/* The symbol prefix of a program named `name`: its characters outside [A-Za-z0-9_] become
 * '_', then '_' is appended ("mlp" -> "mlp_"). The caller frees it; NULL when out of memory. */
char *mt_c_symbol_prefix(const char *name);

/* ---- private to the renderer (render.c and render_expr.c) ----------------------------- */

typedef struct mt_c_memo mt_c_memo;

/* The state of rendering one program (render.c). */
typedef struct mt_c_rctx {
    mt_buf *b;
    const mt_c_dialect *dl;
    const mt_kprog *p;
    mt_c_memo *m;
    int f64;        /* the program uses f64 */
    mt_status fail; /* a statement this renderer refuses (d has the message) */
    mt_diag *d;
} mt_c_rctx;

/* One statement as one work-item runs it (render.c), at indentation ind. */
void mt_c_render_stmt(mt_c_rctx *c, const mt_kstmt *s, int ind);
/* The statements from s on, each as mt_c_render_stmt renders it. */
void mt_c_render_block(mt_c_rctx *c, const mt_kstmt *s, int ind);
/* The loop variables of the parallel nest loops[0 .. n-1] from the flat index `flat` (a C
 * variable): `const long iN = flat / inner % trip;` at indentation ind. */
void mt_c_render_unflatten(mt_c_rctx *c, const mt_kstmt *const *loops, int n, const char *flat,
                           int ind);
/* The number of tiles of C when kernel k is rendered as a tiled GEMM (its groups, of 256
 * work-items each), else 0 (render_gemm.c). */
int64_t mt_c_gemm_tiles(const mt_kernel *k);
/* The body of tiled GEMM kernel k (mt_c_gemm_tiles > 0). */
void mt_c_render_gemm_kernel(mt_c_rctx *c, const mt_kernel *k);
/* GEMM statement s (one row of C) in the work-item that runs it. */
void mt_c_render_gemm_row(mt_c_rctx *c, const mt_kstmt *s, int ind);
/* 4 when kernel k of p is rendered four elements at a time with float4 loads and stores in
 * dialect dl (render_vec.c), else 0. */
int mt_c_kernel_vec(const mt_c_dialect *dl, const mt_kprog *p, const mt_kernel *k);
/* The body of kernel k, vectorised (mt_c_kernel_vec > 0). */
void mt_c_render_vec_kernel(mt_c_rctx *c, const mt_kernel *k);
/* While set, the expression renderer writes a load x as hook(ctx, x) when that is not NULL. */
typedef const char *(*mt_c_load_hook)(void *ctx, const mt_kexpr *load);
void mt_c_memo_set_load_hook(mt_c_memo *m, mt_c_load_hook hook, void *ctx);
/* The body of kernel k in group mode (render_group.c): a group per iteration of the parallel
 * nest loops[0 .. n-1] (n may be 0: one group), groups of `group` work-items. */
void mt_c_render_group_kernel(mt_c_rctx *c, const mt_kernel *k, const mt_kstmt *const *loops, int n,
                              int group);

/* Appends the expression x to b, for a statement whose shared subexpressions were declared
 * as temporaries by mt_c_render_temps. `top`: no enclosing parentheses. */
void mt_c_render_expr(mt_buf *b, const mt_c_dialect *dl, mt_c_memo *m, const mt_kexpr *x, int top);
/* Declares, at indentation `ind`, a `const T tN = ...;` for each node that the expressions
 * xs[0 .. n-1] use more than once (loads and operations; leaves are cheap to repeat), in
 * an order where each comes after those it uses. Temporary numbers continue across calls. */
void mt_c_render_temps(mt_buf *b, const mt_c_dialect *dl, mt_c_memo *m, const mt_kexpr *const *xs,
                       int n, int ind);
mt_c_memo *mt_c_memo_new(void);
void mt_c_memo_free(mt_c_memo *m);
/* 0 when the memo ran out of memory (the output is then incomplete). */
int mt_c_memo_ok(const mt_c_memo *m);
/* 1 when an expression rendered through m has type f64. */
int mt_c_memo_f64(const mt_c_memo *m);
/* Temporaries are numbered from t0 again (a new kernel). */
void mt_c_memo_reset_temps(mt_c_memo *m);
/* Indentation: 4 spaces a level. */
void mt_c_indent(mt_buf *b, int ind);

#endif
