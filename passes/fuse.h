/* fuse.h - partitioning a graph into kernels (passes/fuse.c).
 *
 * Every node gets a role. A kernel stores one node, its root (or, besides it, sibling
 * reductions of the root's operand, role ROOT too), and computes every node fused into it on
 * the fly, without a buffer. Movement ops and constants are never stored
 * (unless they are graph outputs): each kernel that reads them turns them into index
 * arithmetic or a literal. The rules, and the reasons a fusion is refused, are in
 * docs/cpu-backend.md.
 */
#ifndef MT_PASSES_FUSE_H
#define MT_PASSES_FUSE_H

#include "ir/graph.h"

typedef enum mt_fuse_role {
    MT_FUSE_LEAF,   /* input or param: the caller's buffer */
    MT_FUSE_DEAD,   /* no output depends on it: never computed */
    MT_FUSE_INLINE, /* movement op or const: index arithmetic or a literal in each reader */
    MT_FUSE_ROOT,   /* stored to a buffer by its kernel */
    MT_FUSE_FUSED,  /* computed inside its kernel and never stored */
} mt_fuse_role;

/* Why a stored node is not fused into the kernel that reads it. */
typedef enum mt_fuse_why {
    MT_WHY_NONE,       /* fused, or not stored for a reason (leaf, inline, dead) */
    MT_WHY_OUTPUT,     /* a graph output: the caller gets its buffer */
    MT_WHY_KERNELS,    /* read by several kernels: recomputing it in each would repeat work */
    MT_WHY_LEVELS,     /* read inside and outside a reduction's loop of one kernel */
    MT_WHY_OPERAND,    /* operand of a matmul or conv, which reads each element many times */
    MT_WHY_BROADCAST,  /* a reduction whose result is broadcast along an outer loop: the
                          reduction would be recomputed for every iteration of that loop */
    MT_WHY_WHOLE,      /* a reduction broadcast over a whole parallel kernel: every thread
                          would recompute it */
    MT_WHY_CORE,       /* a matmul or conv whose reader already holds one */
    MT_WHY_EPILOGUE,   /* a matmul or conv whose readers are not elementwise ops of its shape */
    MT_WHY_LOOPS,      /* the kernel would nest too many loops */
    MT_WHY_DEPTH,      /* the kernel already computes a chain MT_FUSE_MAX_DEPTH ops deep */
    MT_WHY_COLLECTIVE, /* an allreduce: its buffer is exchanged between the ranks */
    MT_WHY_CONCAT,     /* an operand of a concat, whose selects would compute every operand for
                          every element */
    MT_WHY_RECOMPUTE,  /* an expensive elementwise value its reader broadcasts: every element
                          would be computed several times */
} mt_fuse_why;

/* An elementwise value whose fused expression has at least this many ops is stored rather
 * than recomputed when its reader reads each element several times (a broadcast). */
#define MT_FUSE_RECOMPUTE_OPS 8

/* Fused chains are at most this deep, which bounds the recursion of lowering. */
#define MT_FUSE_MAX_DEPTH 256

typedef struct mt_fuse_kernel {
    int root; /* the node it stores (sibling reductions: the last of them) */
    int core; /* the matmul or conv it computes first (its epilogue follows), or -1 */
} mt_fuse_kernel;

typedef struct mt_fusion {
    int nnodes;
    mt_fuse_role *role; /* per node */
    int *kernel;        /* per node: its kernel for ROOT and FUSED, else -1 */
    mt_fuse_why *why;   /* per node: for ROOT nodes that have readers */
    int *why_node;      /* per node: the node the reason names (a reader, a matmul), or -1 */
    int nkernels;
    mt_fuse_kernel *kernels; /* in execution order: ascending root ids */
} mt_fusion;

/* Partitions g. *out is NULL on failure (out of memory). */
mt_status mt_fuse(const mt_graph *g, mt_fusion **out, mt_diag *d);
void mt_fusion_free(mt_fusion *f);

/* How a matmul operand reaches the matmul: as a stored node's buffer that a GEMM reads in
 * place (passes/lower_contract.c), or not. */
typedef struct mt_fuse_view {
    int node;     /* the stored node (a leaf or a kernel root) whose buffer holds the operand */
    mt_type type; /* the operand as the product reads it: the node's data, row-major (or with
                     the last two axes swapped, `trans`), of this type, whose batch axes
                     broadcast to the operand's */
    int trans;
} mt_fuse_view;

/* Whether matmul operand `id` is such a view: a stored node seen through reshapes of dense
 * data, permutes that keep the batch axes in place (the last two swapped or not) and expands
 * of batch axes only. `role` holds the roles decided so far: a node counts as stored when it
 * is a leaf, a kernel root, or neither a movement op nor a constant (every other node a matmul
 * reads is stored). Other movement ops and constants are not views: fusion stores a matmul
 * operand that is not one, and lowering reads every operand through one. */
int mt_fuse_gemm_view(const mt_graph *g, const mt_fuse_role *role, int id, mt_fuse_view *out);

/* The partition as text (`mtc dump --stage fused`, with `why` for --why); the caller frees it
 * with mt_free. NULL when out of memory. */
char *mt_fusion_print(const mt_graph *g, const mt_fusion *f, int why);
/* One line: the reason node `id` is stored instead of fused ("read by 3 kernels (k1, k2,
 * k4)"), into buf. */
void mt_fusion_why(const mt_graph *g, const mt_fusion *f, int id, char *buf, size_t size);

#endif
