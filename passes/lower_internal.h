/* lower_internal.h - the lowering state and the pieces every kernel is built from, private to
 * lowering (implemented in passes/lower_build.c).
 *
 * Included by lower.c (the driver), lower_contract.c (the loop nests of matmul and conv) and
 * lower_split.c (split reductions); it includes none of their headers, so the files form a
 * DAG. lower_contract.c owns the whole loop nest of a kernel whose core is a matmul or conv:
 * it calls mt_lower_epilogue for every output element once that element's sum is in the
 * buffer.
 */
#ifndef MT_PASSES_LOWER_INTERNAL_H
#define MT_PASSES_LOWER_INTERNAL_H

#include "ir/graph.h"
#include "ir/kernel.h"
#include "passes/fuse.h"
#include "passes/target.h"

/* An open block of statements: the kernel's top level or the body of a loop. A loop is
 * attached to its parent block when it is closed, so statements hoisted into an outer block
 * while the loop is being built land before it. */
typedef struct mt_lscope mt_lscope;
struct mt_lscope {
    mt_lscope *parent;
    int depth; /* loops enclosing the block */
    mt_kblock block;
    mt_kstmt *loop; /* the loop whose body this is; NULL at the top */
};

/* A value already computed in an open scope: node at index idx. */
typedef struct mt_lmemo {
    int node;
    mt_lscope *scope;
    mt_kexpr *idx[MT_MAX_RANK];
    mt_kexpr *value;
} mt_lmemo;

typedef struct mt_lower_state {
    const mt_graph *g;
    const mt_fusion *f;
    const mt_target_desc *t;
    mt_kprog *p;
    int *buf_of; /* node -> buffer holding its value, or -1 */
    /* The nodes of kernel k are members[members_start[k] .. members_start[k+1]), in id order:
     * walking them instead of every node keeps lowering linear in the graph. */
    int *members_start, *members;
    int oom;         /* out of memory somewhere: the result is discarded */
    const char *bug; /* a broken invariant (MT_ERR_INTERNAL): the result is discarded */
    /* The kernel being built. */
    int root, core;
    /* Sibling reductions the kernel stores besides its root (passes/fuse.c): they accumulate
     * in the root's reduction loop and are stored next to it. */
    const int *sib;
    int nsib;
    int collapse; /* outer loops may merge into one parallel loop */
    mt_lscope *cur;
    int nloops;
    int *loop_depth; /* per loop: depth of the scope it opens */
    int loop_cap;
    mt_lscope top; /* the kernel's top level */
    int nscalars;
    mt_ktype *scalar_types;
    int *scalar_depth; /* per scalar: depth of the scope that declares it */
    int scalar_cap;
    mt_lmemo *memo;
    int nmemo, memo_cap;
} mt_lower_state;

/* Opens a loop of `trip` iterations in the current scope and enters its body; returns its
 * variable (the constant 0 when trip is 1: no loop is made). */
mt_kexpr *mt_lower_open(mt_lower_state *s, int64_t trip, unsigned flags);
/* Closes the innermost open loop (a no-op for a trip of 1, matching mt_lower_open). */
void mt_lower_close(mt_lower_state *s, mt_kexpr *var);
/* Opens the loops over axes 0 .. naxes-1 of t, outermost parallel, and sets idx[0..naxes-1]
 * to each axis's index. Leading axes whose product is below the target's parallel_min_trip are
 * merged into one loop when s->collapse allows. Returns how many loops it opened (their variables
 * are in vars) for mt_lower_close_outer. */
int mt_lower_open_outer(mt_lower_state *s, const mt_type *t, int naxes, mt_kexpr **idx,
                        mt_kexpr **vars);
void mt_lower_close_outer(mt_lower_state *s, mt_kexpr **vars, int n);
/* Appends a statement to the current scope (NULL marks the state out of memory). */
void mt_lower_emit(mt_lower_state *s, mt_kstmt *st);
/* Declares a new scalar of type t initialised to `init` in the current scope; returns a
 * reference to it. */
mt_kexpr *mt_lower_let(mt_lower_state *s, mt_ktype t, mt_kexpr *init);
/* The value of node id at multi-index idx (one i64 expression per axis of its type), read
 * from its buffer or computed in place. */
mt_kexpr *mt_lower_value(mt_lower_state *s, int id, mt_kexpr *const *idx);
/* Row-major flat offset of idx in type t. */
mt_kexpr *mt_lower_flat(mt_lower_state *s, const mt_type *t, mt_kexpr *const *idx);
/* The index of operand `in` (of type tin) read while iterating over type tout: broadcast axes
 * (size 1 or missing) read element 0. */
void mt_lower_broadcast(mt_lower_state *s, const mt_type *tin, const mt_type *tout,
                        mt_kexpr *const *idx, mt_kexpr **out);

/* Starts a kernel that stores node `root` (core: its matmul or conv, or -1): an empty top
 * level, no loops or scalars yet. */
void mt_lower_begin(mt_lower_state *s, int root, int core);
/* Appends what was built since mt_lower_begin to the program as a kernel with this note. */
void mt_lower_finish(mt_lower_state *s, const char *note);

/* Accumulators of reduction (or pooling) node id: the scalar type (f64 for sums and means,
 * the node's type for max), a new one holding the identity, one step acc <- acc (+ or max) v
 * (NaN-propagating max), and the final value in the node's type (means divide by count). */
mt_ktype mt_lower_acc_type(const mt_lower_state *s, int id);
mt_kexpr *mt_lower_acc_new(mt_lower_state *s, int id);
void mt_lower_acc_add(mt_lower_state *s, int id, mt_kexpr *acc, mt_kexpr *v);
mt_kexpr *mt_lower_acc_result(mt_lower_state *s, int id, mt_kexpr *acc, int64_t count);

/* Stores the kernel root's value at idx (an index of the root's type), reading the core's
 * value from the root's buffer: the elementwise epilogue of a matmul or conv. Nothing to do
 * when the root is the core itself. */
void mt_lower_epilogue(mt_lower_state *s, mt_kexpr *const *idx);

#endif
