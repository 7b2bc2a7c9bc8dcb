/* fuse.c - the fusion pass: which nodes share a kernel, and which are stored to buffers.
 *
 * Requires: a verified graph. Guarantees: every node that an output depends on is a leaf,
 * inlined (movement ops, constants), the root of exactly one kernel, or fused into exactly one
 * kernel; every kernel reads only leaves and roots of earlier kernels; every stored node that
 * has readers carries the reason it was not fused into them.
 *
 * The partition is decided readers first (reverse definition order), so when a node is
 * considered, the kernels of all its readers are known. A node is fused into the one kernel
 * that reads it when that is legal and wastes no work:
 *   - elementwise ops (and rand) fuse into their reader; broadcasting recomputes them, which
 *     is cheap next to a round trip through memory;
 *   - a reduction (or pooling) fuses with its elementwise producers, which run inside its
 *     loop, and into its reader when its result is needed once per iteration of the loops
 *     around it (softmax's max feeds `x - max` row by row);
 *   - a matmul or conv fuses with an elementwise epilogue of its own shape (bias, relu), which
 *     runs over each finished output row;
 *   - movement ops are never materialized: they become index arithmetic in each reader.
 * A node read by several kernels, by a matmul or conv (which reads it many times), or both
 * inside and outside a reduction's loop is stored instead. A reduction that is only an output
 * joins the kernel of a sibling (a reduction of the same operand over the same axes, of the
 * same type, root of its kernel): that kernel stores both, from one shared reduction loop,
 * so the operand they share is read by one kernel in one context and fuses like any other. A matmul
 * reads its operands as buffers, in place (passes/lower_contract.c hands them to a packed GEMM):
 * movement ops on them stay index arithmetic only where they are reshapes of dense data, transposes
 * of the last two axes or broadcasts of batch axes (mt_fuse_gemm_view); any other is stored.
 *
 * To tell whether a reduction would be recomputed, the pass models each kernel's loop nest:
 * the root's non-unit axes are the outer loops, each reduction adds loops inside the loop
 * where its result is first fully indexed. For every node it tracks the chain of loops
 * enclosing its evaluation and, per axis of its value, which loops the index depends on.
 * passes/lower.c builds exactly these loops (it places each reduction after the innermost
 * loop its index uses), so the model predicts the generated code.
 */
#include "passes/fuse.h"

#include <stdio.h>
#include <string.h>

#include "ir/alloc.h"

#define MAX_LOOPS 64 /* per kernel: loop dependencies are 64-bit masks */
#define MAX_CHAIN 16 /* loops enclosing one evaluation point */

#define CTX_MOVE 1u    /* reached through a movement op */
#define CTX_OPERAND 2u /* inside an operand of a matmul or conv */

/* Where and how a node is evaluated inside its kernel. */
typedef struct ctx {
    int nchain;
    signed char chain[MAX_CHAIN]; /* enclosing loops, outermost first */
    uint64_t axis[MT_MAX_RANK];   /* per axis of the value: the loops its index uses */
    unsigned flags;
} ctx;

typedef struct kinfo {
    int root, core;
    int nloops;
    int64_t trip[MAX_LOOPS];
    int parallel; /* the root has a non-unit axis: the outermost loop is split across threads */
} kinfo;

typedef struct ninfo {
    int depth;              /* fused ops between it and the root of its kernel */
    ctx c;                  /* the node's own evaluation context */
    ctx inner;              /* reductions: the context of their operand (chain only) */
    int rloop[MT_MAX_RANK]; /* reductions: the loop over each reduced input axis, or -1 */
} ninfo;

/* One place a value is read: by kernel `k` in context `c`. */
typedef struct use {
    int k;
    int reader; /* the non-inline node that reads it */
    ctx c;
} use;

typedef struct fstate {
    const mt_graph *g;
    mt_fusion *f;
    ninfo *info;
    kinfo *ks;
    int nks, ks_cap;
    int *users_start, *users; /* readers of each node (CSR) */
    use *uses;
    int nuses, uses_cap;
    int oom;
} fstate;

static unsigned flags_of(const mt_graph *g, int id) { return mt_op_get(g->nodes[id].op)->flags; }

static int is_reduction(const mt_graph *g, int id)
{
    return (flags_of(g, id) & (MT_F_REDUCE | MT_F_POOL)) != 0;
}

static int is_elementwise(const mt_graph *g, int id)
{
    return (flags_of(g, id) & (MT_F_UNARY | MT_F_BINARY | MT_F_TERNARY | MT_F_COLLECTIVE)) != 0 ||
           g->nodes[id].op == MT_OP_RAND;
}

/* ---- the loop model -------------------------------------------------------------------- */

static int new_loop(kinfo *k, int64_t trip)
{
    if (k->nloops == MAX_LOOPS)
        return -1;
    k->trip[k->nloops] = trip;
    return k->nloops++;
}

static uint64_t bit(int loop) { return loop < 0 ? 0 : (uint64_t)1 << loop; }

static uint64_t all_axes(const ctx *c, int rank)
{
    uint64_t m = 0;
    for (int a = 0; a < rank; a++)
        m |= c->axis[a];
    return m;
}

/* Does row-major axis i of shape `out` (stride so, dim d) share digits with axis j of `in`? */
static int overlaps(int64_t so, int64_t d, int64_t si, int64_t di)
{
    return so * d > si && so < si * di;
}

/* The context of operand j of node c, which is evaluated in context `cc`. */
static void transform(const fstate *s, int c, const ctx *cc, int j, ctx *out)
{
    const mt_graph *g = s->g;
    const mt_node *n = &g->nodes[c];
    const mt_type *to = &g->nodes[n->in[j]].type, *tc = &n->type;
    *out = *cc;
    memset(out->axis, 0, sizeof out->axis);
    unsigned f = flags_of(g, c);
    if (f & MT_F_MOVE)
        out->flags |= CTX_MOVE;
    if (f & MT_F_CONTRACT) {
        out->flags |= CTX_OPERAND;
        for (int a = 0; a < to->rank; a++)
            out->axis[a] = all_axes(cc, tc->rank);
        return;
    }
    if (f & (MT_F_REDUCE | MT_F_POOL)) {
        const ninfo *ri = &s->info[c];
        out->nchain = ri->inner.nchain;
        memcpy(out->chain, ri->inner.chain, sizeof out->chain);
        int full = (f & MT_F_REDUCE) && n->attrs->dim == MT_DIM_ALL;
        int k = (f & MT_F_REDUCE) && !full ? mt_axis(n->attrs->dim, to->rank) : -1;
        for (int a = 0; a < to->rank; a++) {
            if (full)
                out->axis[a] = bit(ri->rloop[a]);
            else if (a == k)
                out->axis[a] = bit(ri->rloop[a]);
            else
                out->axis[a] = cc->axis[a] | ((f & MT_F_POOL) && a >= 2 ? bit(ri->rloop[a]) : 0);
        }
        return;
    }
    switch (n->op) {
    case MT_OP_PERMUTE:
        for (int i = 0; i < tc->rank; i++)
            out->axis[n->attrs->perm.v[i]] = cc->axis[i];
        return;
    case MT_OP_RESHAPE: {
        int64_t so[MT_MAX_RANK], si[MT_MAX_RANK];
        mt_type_strides(tc, so);
        mt_type_strides(to, si);
        for (int a = 0; a < to->rank; a++)
            for (int i = 0; i < tc->rank; i++)
                if (to->dims[a] > 1 && tc->dims[i] > 1 &&
                    overlaps(so[i], tc->dims[i], si[a], to->dims[a]))
                    out->axis[a] |= cc->axis[i];
        return;
    }
    default: {
        /* Elementwise, expand, slice, pad, concat: axes align from the right; an axis of
         * size 1 is not indexed at all. */
        int off = tc->rank - to->rank;
        for (int a = 0; a < to->rank; a++)
            out->axis[a] = to->dims[a] == 1 ? 0 : cc->axis[a + off];
        return;
    }
    }
}

/* ---- gathering the reads of a node ----------------------------------------------------- */

static void add_use(fstate *s, int k, int reader, const ctx *c)
{
    if (s->nuses == s->uses_cap) {
        int cap = s->uses_cap ? 2 * s->uses_cap : 16;
        use *u = mt_realloc(s->uses, (size_t)cap * sizeof *u);
        if (!u) {
            s->oom = 1;
            return;
        }
        s->uses = u;
        s->uses_cap = cap;
    }
    s->uses[s->nuses].k = k;
    s->uses[s->nuses].reader = reader;
    s->uses[s->nuses++].c = *c;
}

/* Appends the reads of node id to s->uses, looking through inline readers. */
static void gather(fstate *s, int id)
{
    const mt_graph *g = s->g;
    for (int u = s->users_start[id]; u < s->users_start[id + 1]; u++) {
        int r = s->users[u];
        const mt_node *rn = &g->nodes[r];
        mt_fuse_role role = s->f->role[r];
        if (role == MT_FUSE_DEAD)
            continue;
        if (role == MT_FUSE_INLINE) {
            /* The reads of an inline node are reads of its operand, transformed. */
            int first = s->nuses;
            gather(s, r);
            int last = s->nuses;
            for (int i = first; i < last && !s->oom; i++) {
                ctx in = s->uses[i].c;
                for (int j = 0; j < rn->nin; j++)
                    if (rn->in[j] == id) {
                        transform(s, r, &in, j, &s->uses[i].c);
                        break;
                    }
            }
            continue;
        }
        for (int j = 0; j < rn->nin; j++)
            if (rn->in[j] == id) {
                ctx c;
                transform(s, r, &s->info[r].c, j, &c);
                add_use(s, s->f->kernel[r], r, &c);
            }
    }
}

/* ---- decisions ------------------------------------------------------------------------- */

static int same_chain(const ctx *a, const ctx *b)
{
    return a->nchain == b->nchain && memcmp(a->chain, b->chain, (size_t)a->nchain) == 0;
}

static int new_kernel(fstate *s, int root)
{
    if (s->nks == s->ks_cap) {
        int cap = s->ks_cap ? 2 * s->ks_cap : 16;
        kinfo *k = mt_realloc(s->ks, (size_t)cap * sizeof *k);
        if (!k) {
            s->oom = 1;
            return -1;
        }
        s->ks = k;
        s->ks_cap = cap;
    }
    kinfo *k = &s->ks[s->nks];
    memset(k, 0, sizeof *k);
    k->root = root;
    k->core = -1;
    return s->nks++;
}

/* Allocates the loops a reduction adds over its input; 0 when the kernel has no room. */
static int reduction_loops(fstate *s, kinfo *k, int id, ctx *inner)
{
    const mt_node *n = &s->g->nodes[id];
    const mt_type *x = &s->g->nodes[n->in[0]].type;
    ninfo *ni = &s->info[id];
    for (int a = 0; a < MT_MAX_RANK; a++)
        ni->rloop[a] = -1;
    for (int a = 0; a < x->rank; a++) {
        int64_t trip = 1;
        if (mt_op_is(n->op, MT_F_POOL)) {
            if (a >= 2)
                trip = n->attrs->kernel[a - 2];
        } else if (n->attrs->dim == MT_DIM_ALL || mt_axis(n->attrs->dim, x->rank) == a) {
            trip = x->dims[a];
        }
        if (trip == 1)
            continue;
        int l = new_loop(k, trip);
        if (l < 0 || inner->nchain == MAX_CHAIN)
            return 0;
        ni->rloop[a] = l;
        inner->chain[inner->nchain++] = (signed char)l;
    }
    return 1;
}

static void make_root(fstate *s, int id, mt_fuse_why why, int why_node)
{
    const mt_node *n = &s->g->nodes[id];
    mt_fusion *f = s->f;
    int k = new_kernel(s, id);
    if (k < 0)
        return;
    f->role[id] = MT_FUSE_ROOT;
    f->kernel[id] = k;
    f->why[id] = why;
    f->why_node[id] = why_node;
    kinfo *ki = &s->ks[k];
    ninfo *ni = &s->info[id];
    memset(&ni->c, 0, sizeof ni->c);
    for (int a = 0; a < n->type.rank; a++) {
        if (n->type.dims[a] == 1)
            continue;
        /* A root has at most MT_MAX_RANK axes, well within both limits. */
        int l = new_loop(ki, n->type.dims[a]);
        ni->c.chain[ni->c.nchain++] = (signed char)l;
        ni->c.axis[a] = bit(l);
    }
    ki->parallel = ni->c.nchain > 0;
    if (mt_op_is(n->op, MT_F_CONTRACT))
        ki->core = id;
    if (is_reduction(s->g, id)) {
        /* A fresh kernel has room for MT_MAX_RANK outer and MT_MAX_RANK reduction loops. */
        ni->inner = ni->c;
        (void)reduction_loops(s, ki, id, &ni->inner);
    }
}

/* Decides a reduction (or pooling) node read in kernel k in context c. Returns the reason it
 * cannot fuse, or MT_WHY_NONE after fusing it. */
static mt_fuse_why try_fuse_reduction(fstate *s, int id, int k, const ctx *c)
{
    kinfo *ki = &s->ks[k];
    const mt_type *t = &s->g->nodes[id].type;
    uint64_t deps = all_axes(c, t->rank);
    int p = -1;
    for (int i = 0; i < c->nchain; i++)
        if (deps & bit(c->chain[i]))
            p = i;
    if (p < 0 && c->nchain > 0 && ki->parallel)
        return MT_WHY_WHOLE;
    /* Evaluated once per iteration of the loops down to p: more often than it has elements
     * when a reshape spreads each element over several iterations (a max-pool's window count,
     * read by every cell of its window). */
    double evals = 1;
    for (int i = 0; i <= p; i++) {
        if (!(deps & bit(c->chain[i])))
            return MT_WHY_BROADCAST;
        evals *= (double)ki->trip[c->chain[i]];
    }
    if (evals >= 2 * (double)mt_type_numel(t))
        return MT_WHY_BROADCAST;
    ninfo *ni = &s->info[id];
    ni->c = *c;
    ni->inner = *c;
    ni->inner.nchain = p + 1;
    int saved = ki->nloops;
    if (!reduction_loops(s, ki, id, &ni->inner)) {
        ki->nloops = saved;
        return MT_WHY_LOOPS;
    }
    return MT_WHY_NONE;
}

static mt_fuse_why try_fuse_contraction(fstate *s, int id, int k, const ctx *c)
{
    kinfo *ki = &s->ks[k];
    const mt_graph *g = s->g;
    if (ki->core >= 0)
        return MT_WHY_CORE;
    if (is_reduction(g, ki->root) || (c->flags & CTX_MOVE) ||
        !mt_type_equal(&g->nodes[id].type, &g->nodes[ki->root].type) ||
        !same_chain(c, &s->info[ki->root].c))
        return MT_WHY_EPILOGUE;
    ki->core = id;
    s->info[id].c = *c;
    return MT_WHY_NONE;
}

/* A concat that reads node id, directly or through at most `depth` other movement ops (which
 * are index arithmetic in their readers), or -1. */
static int concat_reader(const fstate *s, int id, int depth)
{
    for (int u = s->users_start[id]; u < s->users_start[id + 1]; u++) {
        int r = s->users[u];
        if (s->g->nodes[r].op == MT_OP_CONCAT)
            return r;
        if (depth > 0 && mt_op_is(s->g->nodes[r].op, MT_F_MOVE)) {
            int c = concat_reader(s, r, depth - 1);
            if (c >= 0)
                return c;
        }
    }
    return -1;
}

/* The elementwise ops that would be computed with id in its reader's kernel, up to `cap`:
 * its own, and those of producers it alone reads (through movement ops), which fuse with it. */
static int cone_ops(const fstate *s, int id, int cap)
{
    const mt_graph *g = s->g;
    if (!is_elementwise(g, id))
        return 0;
    int n = 1;
    const mt_node *nd = &g->nodes[id];
    for (int j = 0; j < nd->nin && n < cap; j++) {
        int x = nd->in[j];
        while (mt_op_is(g->nodes[x].op, MT_F_MOVE) &&
               s->users_start[x + 1] - s->users_start[x] == 1)
            x = g->nodes[x].in[0];
        if (s->users_start[x + 1] - s->users_start[x] == 1)
            n += cone_ops(s, x, cap - n);
    }
    return n;
}

/* Does kernel k evaluate node id, in context c, more often than id has elements, with enough
 * ops that recomputing it costs more than a round trip through memory? */
static int recomputed(const fstate *s, int id, int k, const ctx *c)
{
    double evals = 1;
    for (int i = 0; i < c->nchain; i++)
        evals *= (double)s->ks[k].trip[c->chain[i]];
    return evals >= 2 * (double)mt_type_numel(&s->g->nodes[id].type) &&
           cone_ops(s, id, MT_FUSE_RECOMPUTE_OPS) >= MT_FUSE_RECOMPUTE_OPS;
}

/* A kernel that stores reduction `sib`, which reduction id may join: another plain reduction
 * of the same operand over the same axes with a result of the same type, the root of a kernel
 * of its own (no matmul in it). Sharing that kernel, both accumulate in one loop over the
 * operand, which is then computed (or read) once instead of being stored for two kernels or
 * read twice. -1 when there is none. */
static int sibling_kernel(const fstate *s, int id)
{
    const mt_graph *g = s->g;
    const mt_node *n = &g->nodes[id];
    if (!mt_op_is(n->op, MT_F_REDUCE))
        return -1;
    int x = n->in[0];
    for (int u = s->users_start[x]; u < s->users_start[x + 1]; u++) {
        int r = s->users[u];
        const mt_node *rn = &g->nodes[r];
        if (r == id || s->f->role[r] != MT_FUSE_ROOT || !mt_op_is(rn->op, MT_F_REDUCE) ||
            rn->attrs->dim != n->attrs->dim || !mt_type_equal(&rn->type, &n->type))
            continue;
        int k = s->f->kernel[r];
        if (s->ks[k].root == r && s->ks[k].core < 0)
            return k;
    }
    return -1;
}

static void decide(fstate *s, int id, int is_output)
{
    const mt_graph *g = s->g;
    mt_fusion *f = s->f;
    s->nuses = 0;
    gather(s, id);
    if (s->oom)
        return;
    if (is_output) {
        /* Read by no kernel (only the caller reads it): it may be stored by a sibling's
         * kernel, in that kernel's loops, after the operand's other readers are decided. */
        int k = s->nuses == 0 ? sibling_kernel(s, id) : -1;
        if (k < 0) {
            make_root(s, id, MT_WHY_OUTPUT, -1);
            return;
        }
        int r = s->ks[k].root;
        f->role[id] = MT_FUSE_ROOT;
        f->kernel[id] = k;
        f->why[id] = MT_WHY_OUTPUT;
        s->info[id] = s->info[r];
        return;
    }
    /* A collective's value exists only after the ranks have exchanged the stored local one. */
    if (mt_op_is(g->nodes[id].op, MT_F_COLLECTIVE)) {
        make_root(s, id, MT_WHY_COLLECTIVE, -1);
        return;
    }
    /* A concat picks each element from one operand with selects, which evaluate every arm: a
     * computed operand fused into it would be computed for every element of the concat (a
     * gradient bucket of a whole model: every bias's reduction for every weight). */
    int concat = concat_reader(s, id, 4);
    if (concat >= 0) {
        make_root(s, id, MT_WHY_CONCAT, concat);
        return;
    }
    int k = s->uses[0].k, depth = 0;
    for (int i = 0; i < s->nuses; i++) {
        if (s->uses[i].k != k) {
            make_root(s, id, MT_WHY_KERNELS, -1);
            return;
        }
        int dr = s->info[s->uses[i].reader].depth + 1;
        depth = dr > depth ? dr : depth;
    }
    if (depth > MT_FUSE_MAX_DEPTH) {
        make_root(s, id, MT_WHY_DEPTH, s->uses[0].reader);
        return;
    }
    /* Read by one kernel: merge the contexts of the reads. */
    ctx c = s->uses[0].c;
    for (int i = 1; i < s->nuses; i++) {
        const ctx *o = &s->uses[i].c;
        if (!same_chain(&c, o)) {
            make_root(s, id, MT_WHY_LEVELS, s->uses[i].reader);
            return;
        }
        c.flags |= o->flags;
        for (int a = 0; a < MT_MAX_RANK; a++)
            c.axis[a] |= o->axis[a];
    }
    if (c.flags & CTX_OPERAND) {
        int reader = s->ks[k].core >= 0 ? s->ks[k].core : s->ks[k].root;
        make_root(s, id, MT_WHY_OPERAND, reader);
        return;
    }
    mt_fuse_why why = MT_WHY_NONE;
    if (is_reduction(g, id))
        why = try_fuse_reduction(s, id, k, &c);
    else if (mt_op_is(g->nodes[id].op, MT_F_CONTRACT))
        why = try_fuse_contraction(s, id, k, &c);
    else if (is_elementwise(g, id) && recomputed(s, id, k, &c))
        why = MT_WHY_RECOMPUTE;
    else if (is_elementwise(g, id))
        s->info[id].c = c;
    else
        why = MT_WHY_EPILOGUE; /* unreachable: every computing op is one of the above */
    if (why != MT_WHY_NONE) {
        make_root(s, id, why, s->uses[0].reader);
        return;
    }
    f->role[id] = MT_FUSE_FUSED;
    f->kernel[id] = k;
    s->info[id].depth = depth;
}

/* ---- matmul operands -------------------------------------------------------------------- */

int mt_fuse_gemm_view(const mt_graph *g, const mt_fuse_role *role, int id, mt_fuse_view *out)
{
    const mt_node *n = &g->nodes[id];
    unsigned fl = flags_of(g, id);
    if ((fl & MT_F_LEAF) || role[id] == MT_FUSE_ROOT || !(fl & MT_F_MOVE || n->op == MT_OP_CONST)) {
        out->node = id;
        out->type = n->type;
        out->trans = 0;
        return 1;
    }
    /* Slices and pads (offsets, zeros), concats and constants are not buffers a GEMM reads. */
    if (n->op != MT_OP_RESHAPE && n->op != MT_OP_PERMUTE && n->op != MT_OP_EXPAND)
        return 0;
    mt_fuse_view in;
    if (!mt_fuse_gemm_view(g, role, n->in[0], &in))
        return 0;
    const mt_type *tx = &g->nodes[n->in[0]].type;
    int r = n->type.rank;
    switch (n->op) {
    case MT_OP_RESHAPE:
        /* Dense data reads the same in any shape. */
        if (in.trans || mt_type_numel(&in.type) != mt_type_numel(tx))
            return 0;
        *out = in;
        out->type = n->type;
        return 1;
    case MT_OP_PERMUTE: {
        for (int i = 0; i < r - 2; i++)
            if (n->attrs->perm.v[i] != i)
                return 0;
        *out = in;
        if (n->attrs->perm.v[r - 2] == r - 1) {
            int q = in.type.rank;
            int64_t m = out->type.dims[q - 2];
            out->type.dims[q - 2] = out->type.dims[q - 1];
            out->type.dims[q - 1] = m;
            out->trans = !in.trans;
        }
        return 1;
    }
    case MT_OP_EXPAND:
        /* Only batch axes: the view's batch axes still broadcast to the operand's. */
        if (tx->rank < 2 || tx->dims[tx->rank - 2] != n->type.dims[r - 2] ||
            tx->dims[tx->rank - 1] != n->type.dims[r - 1])
            return 0;
        *out = in;
        return 1;
    default: return 0;
    }
}

/* A matmul that reads movement op or constant `id` directly when `id` is not a buffer the GEMM
 * reads in place (mt_fuse_gemm_view), else -1. */
static int gemm_copies(const fstate *s, int id)
{
    const mt_graph *g = s->g;
    for (int u = s->users_start[id]; u < s->users_start[id + 1]; u++) {
        int r = s->users[u];
        if (g->nodes[r].op == MT_OP_MATMUL && s->f->role[r] != MT_FUSE_DEAD) {
            mt_fuse_view v;
            return mt_fuse_gemm_view(g, s->f->role, id, &v) ? -1 : r;
        }
    }
    return -1;
}

/* ---- the pass -------------------------------------------------------------------------- */

void mt_fusion_free(mt_fusion *f)
{
    if (!f)
        return;
    mt_free(f->role);
    mt_free(f->kernel);
    mt_free(f->why);
    mt_free(f->why_node);
    mt_free(f->kernels);
    mt_free(f);
}

static int build_users(fstate *s)
{
    const mt_graph *g = s->g;
    int n = g->nnodes, total = 0;
    for (int i = 0; i < n; i++)
        total += g->nodes[i].nin;
    s->users_start = mt_calloc((size_t)n + 1, sizeof *s->users_start);
    s->users = mt_calloc((size_t)total + 1, sizeof *s->users);
    if (!s->users_start || !s->users)
        return 0;
    for (int i = 0; i < n; i++)
        for (int j = 0; j < g->nodes[i].nin; j++)
            s->users_start[g->nodes[i].in[j] + 1]++;
    for (int i = 0; i < n; i++)
        s->users_start[i + 1] += s->users_start[i];
    int *fill = mt_calloc((size_t)n + 1, sizeof *fill);
    if (!fill)
        return 0;
    for (int i = 0; i < n; i++)
        for (int j = 0; j < g->nodes[i].nin; j++) {
            int o = g->nodes[i].in[j];
            /* One entry per reader, however many operands it takes from o. Readers arrive
             * in increasing order, so a repeat can only be the last entry: checking that one
             * keeps this linear (scanning all of o's readers was quadratic in them). */
            int at = s->users_start[o];
            if (fill[o] == 0 || s->users[at + fill[o] - 1] != i)
                s->users[at + fill[o]++] = i;
        }
    /* Compact: entries past fill[o] are unused. */
    int w = 0;
    for (int i = 0; i < n; i++) {
        int start = s->users_start[i];
        s->users_start[i] = w;
        for (int u = 0; u < fill[i]; u++)
            s->users[w++] = s->users[start + u];
    }
    s->users_start[n] = w;
    mt_free(fill);
    return 1;
}

mt_status mt_fuse(const mt_graph *g, mt_fusion **out, mt_diag *d)
{
    *out = NULL;
    int n = g->nnodes;
    fstate s;
    memset(&s, 0, sizeof s);
    s.g = g;
    mt_fusion *f = mt_calloc(1, sizeof *f);
    char *is_out = mt_calloc((size_t)n + 1, 1);
    char *live = mt_calloc((size_t)n + 1, 1);
    s.info = mt_calloc((size_t)n + 1, sizeof *s.info);
    s.f = f;
    if (f) {
        f->nnodes = n;
        f->role = mt_calloc((size_t)n + 1, sizeof *f->role);
        f->kernel = mt_calloc((size_t)n + 1, sizeof *f->kernel);
        f->why = mt_calloc((size_t)n + 1, sizeof *f->why);
        f->why_node = mt_calloc((size_t)n + 1, sizeof *f->why_node);
    }
    if (!f || !is_out || !live || !s.info || !f->role || !f->kernel || !f->why || !f->why_node ||
        !build_users(&s))
        s.oom = 1;
    if (!s.oom) {
        for (int i = 0; i < g->noutputs; i++)
            is_out[g->outputs[i]] = live[g->outputs[i]] = 1;
        /* An update's new value outlives the run like an output: it is stored. */
        for (int i = 0; i < g->nupdates; i++)
            is_out[g->updates[i].value] = live[g->updates[i].value] = 1;
        for (int id = n - 1; id >= 0 && !s.oom; id--) {
            const mt_node *nd = &g->nodes[id];
            f->kernel[id] = -1;
            f->why_node[id] = -1;
            for (int u = s.users_start[id]; u < s.users_start[id + 1]; u++)
                live[id] |= live[s.users[u]];
            unsigned fl = flags_of(g, id);
            if (fl & MT_F_LEAF)
                f->role[id] = MT_FUSE_LEAF;
            else if (!live[id])
                f->role[id] = MT_FUSE_DEAD;
            else if ((fl & MT_F_MOVE || nd->op == MT_OP_CONST) && !is_out[id]) {
                int m = gemm_copies(&s, id);
                if (m >= 0)
                    make_root(&s, id, MT_WHY_OPERAND, m);
                else
                    f->role[id] = MT_FUSE_INLINE;
            } else
                decide(&s, id, is_out[id]);
        }
    }
    if (!s.oom) {
        /* Number kernels in execution order: by root id. */
        f->kernels = mt_calloc((size_t)s.nks + 1, sizeof *f->kernels);
        int *renum = mt_calloc((size_t)s.nks + 1, sizeof *renum);
        if (!f->kernels || !renum) {
            s.oom = 1;
        } else {
            for (int id = 0; id < n; id++)
                if (f->role[id] == MT_FUSE_ROOT && s.ks[f->kernel[id]].root == id) {
                    int k = f->kernel[id];
                    renum[k] = f->nkernels;
                    f->kernels[f->nkernels].root = id;
                    f->kernels[f->nkernels++].core = s.ks[k].core;
                }
            for (int id = 0; id < n; id++)
                if (f->kernel[id] >= 0)
                    f->kernel[id] = renum[f->kernel[id]];
        }
        mt_free(renum);
    }
    mt_free(is_out);
    mt_free(live);
    mt_free(s.info);
    mt_free(s.ks);
    mt_free(s.users_start);
    mt_free(s.users);
    mt_free(s.uses);
    if (s.oom) {
        mt_fusion_free(f);
        return mt_diag_set(d, MT_ERR_NOMEM, "fuse: out of memory");
    }
    *out = f;
    return MT_OK;
}
