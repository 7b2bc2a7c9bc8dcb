/* lower.h - fused graph -> kernel IR (passes/lower.c, passes/lower_contract.c).
 *
 * mt_lower is the entry point. The rest of this header is the lowering state shared by
 * lower.c (elementwise ops, movement ops, reductions, rand) and lower_contract.c (the loop
 * nests of matmul and conv). lower_contract.c owns the whole loop nest of a kernel whose core
 * is a matmul or conv: a faster matmul (a packed, register-blocked micro-kernel) replaces
 * mt_lower_matmul there, free to block and order loops as it likes, as long as it calls
 * mt_lower_epilogue for every output element once that element's sum is in the buffer.
 */
#ifndef MT_PASSES_LOWER_H
#define MT_PASSES_LOWER_H

#include "ir/graph.h"
#include "ir/kernel.h"
#include "passes/fuse.h"

/* Lowers g, partitioned by f, to a program: one kernel per fusion kernel, in the same order,
 * plus a copy kernel for each output that is a leaf. Buffers have no arena offsets yet
 * (passes/memplan.c assigns them). *out is NULL on failure. */
mt_status mt_lower(const mt_graph *g, const mt_fusion *f, mt_kprog **out, mt_diag *d);

/* ---- shared lowering state ------------------------------------------------------------- */

/* An open block of statements: the kernel's top level or the body of a loop. A loop is
 * attached to its parent block when it is closed, so statements hoisted into an outer block
 * while the loop is being built land before it. */
typedef struct mt_lscope mt_lscope;
struct mt_lscope {
    mt_lscope *parent;
    int depth;      /* loops enclosing the block */
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
    mt_kprog *p;
    int *buf_of; /* node -> buffer holding its value, or -1 */
    int oom;     /* out of memory somewhere: the result is discarded */
    /* The kernel being built. */
    int root, core;
    mt_lscope *cur;
    int nloops;
    int *loop_depth; /* per loop: depth of the scope it opens */
    int loop_cap;
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

/* Stores the kernel root's value at idx (an index of the root's type), reading the core's
 * value from the root's buffer: the elementwise epilogue of a matmul or conv. Nothing to do
 * when the root is the core itself. */
void mt_lower_epilogue(mt_lower_state *s, mt_kexpr *const *idx);

/* lower_contract.c: the whole body of the current kernel, whose core is a matmul or conv:
 * the core's sums accumulate in the root's buffer, then the epilogue runs over them. */
void mt_lower_contract(mt_lower_state *s);
/* Matmul: the seam for a faster micro-kernel. */
void mt_lower_matmul(mt_lower_state *s);

#endif
