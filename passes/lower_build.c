/* lower_build.c - the pieces every kernel of lowering is built from (passes/lower_internal.h):
 * scopes, loops and scalars, the value of a node at a multi-index, reductions and their
 * accumulators, the outer loops of a kernel, and the start and end of a kernel.
 *
 * The value of node id at a multi-index is built by asking each operand for its value at the
 * matching index (mt_lower_value): a stored node is a load, a movement op maps the index
 * (reshape via the flat offset, permute, slices, pads and concatenations via shifted and
 * clamped indices under a select), a fused elementwise op computes in place and binds its
 * result to a scalar, a fused reduction opens its own loops.
 *
 * A reduction is placed in the innermost enclosing loop that its index uses, before that
 * loop's remaining body, so it runs once per distinct result element (passes/fuse.c only fuses
 * reductions for which that is once per element of their output). f32 sums accumulate in an
 * f64 scalar and are rounded once, like the reference interpreter; max keeps the operand type
 * and propagates NaN.
 */
#include "passes/lower_internal.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "ir/alloc.h"
#include "runtime/philox.h"

static void *chk(mt_lower_state *s, void *ptr)
{
    if (!ptr)
        s->oom = 1;
    return ptr;
}

/* ---- scopes, loops and scalars --------------------------------------------------------- */

static int grow(mt_lower_state *s, void **arr, int *cap, int need, size_t elem)
{
    if (need <= *cap)
        return 1;
    int c = *cap ? 2 * *cap : 32;
    while (c < need)
        c *= 2;
    void *a = mt_realloc(*arr, (size_t)c * elem);
    if (!a) {
        s->oom = 1;
        return 0;
    }
    *arr = a;
    *cap = c;
    return 1;
}

mt_kexpr *mt_lower_open(mt_lower_state *s, int64_t trip, unsigned flags)
{
    if (trip == 1)
        return chk(s, mt_kx_int(s->p, 0));
    int loop = s->nloops;
    if (!grow(s, (void **)&s->loop_depth, &s->loop_cap, loop + 1, sizeof *s->loop_depth))
        return NULL;
    mt_lscope *sc = chk(s, mt_arena_alloc(&s->p->arena, sizeof *sc));
    mt_kstmt *st = chk(s, mt_ks_for(s->p, loop, trip, flags));
    mt_kexpr *var = chk(s, mt_kx_var(s->p, loop, trip));
    if (!sc || !st || !var)
        return NULL;
    s->nloops++;
    sc->parent = s->cur;
    sc->depth = s->cur->depth + 1;
    sc->loop = st;
    s->loop_depth[loop] = sc->depth;
    s->cur = sc;
    return var;
}

void mt_lower_close(mt_lower_state *s, mt_kexpr *var)
{
    if (!var || var->op != MT_KX_VAR || !s->cur->loop)
        return;
    mt_lscope *sc = s->cur;
    sc->loop->body = sc->block.first;
    s->cur = sc->parent;
    mt_kblock_append(&s->cur->block, sc->loop);
}

void mt_lower_emit(mt_lower_state *s, mt_kstmt *st)
{
    if (chk(s, st))
        mt_kblock_append(&s->cur->block, st);
}

mt_kexpr *mt_lower_let(mt_lower_state *s, mt_ktype t, mt_kexpr *init)
{
    if (!init) {
        s->oom = 1;
        return NULL;
    }
    int id = s->nscalars;
    if (!grow(s, (void **)&s->scalar_types, &s->scalar_cap, id + 1, sizeof *s->scalar_types))
        return NULL;
    /* scalar_depth shares the capacity of scalar_types: grow it to the same size. */
    int *sd = mt_realloc(s->scalar_depth, (size_t)s->scalar_cap * sizeof *sd);
    if (!chk(s, sd))
        return NULL;
    s->scalar_depth = sd;
    s->nscalars++;
    s->scalar_types[id] = t;
    s->scalar_depth[id] = s->cur->depth;
    mt_lower_emit(s, mt_ks_decl(s->p, id, mt_kx_cast(s->p, t, init)));
    return chk(s, mt_kx_scalar(s->p, id, t));
}

/* The depth of the innermost scope whose loop variable or scalar e uses. */
static int expr_depth(const mt_lower_state *s, const mt_kexpr *e)
{
    if (e->op == MT_KX_VAR)
        return s->loop_depth[e->id];
    if (e->op == MT_KX_SCALAR)
        return s->scalar_depth[e->id];
    int d = 0;
    for (int i = 0; i < e->nargs; i++) {
        int a = expr_depth(s, e->args[i]);
        d = a > d ? a : d;
    }
    return d;
}

/* ---- memo: values already computed in an open scope ------------------------------------ */

static int scope_is_open(const mt_lower_state *s, const mt_lscope *sc)
{
    for (const mt_lscope *x = s->cur; x; x = x->parent)
        if (x == sc)
            return 1;
    return 0;
}

static mt_kexpr *memo_find(const mt_lower_state *s, int id, mt_kexpr *const *idx)
{
    int rank = s->g->nodes[id].type.rank;
    for (int i = s->nmemo - 1; i >= 0; i--) {
        const mt_lmemo *m = &s->memo[i];
        if (m->node != id || !scope_is_open(s, m->scope))
            continue;
        int same = 1;
        for (int a = 0; a < rank && same; a++)
            same = mt_kx_equal(m->idx[a], idx[a]);
        if (same)
            return m->value;
    }
    return NULL;
}

static void memo_add(mt_lower_state *s, int id, mt_kexpr *const *idx, mt_kexpr *value,
                     mt_lscope *scope)
{
    if (!value || !grow(s, (void **)&s->memo, &s->memo_cap, s->nmemo + 1, sizeof *s->memo))
        return;
    mt_lmemo *m = &s->memo[s->nmemo++];
    m->node = id;
    m->scope = scope;
    for (int a = 0; a < s->g->nodes[id].type.rank; a++)
        m->idx[a] = idx[a];
    m->value = value;
}

/* ---- index helpers --------------------------------------------------------------------- */

mt_kexpr *mt_lower_flat(mt_lower_state *s, const mt_type *t, mt_kexpr *const *idx)
{
    int64_t st[MT_MAX_RANK];
    mt_type_strides(t, st);
    mt_kexpr *flat = mt_kx_int(s->p, 0);
    for (int a = 0; a < t->rank; a++)
        flat = mt_kx_binary(s->p, MT_KX_ADD, flat,
                            mt_kx_binary(s->p, MT_KX_MUL, idx[a], mt_kx_int(s->p, st[a])));
    return chk(s, flat);
}

void mt_lower_broadcast(mt_lower_state *s, const mt_type *tin, const mt_type *tout,
                        mt_kexpr *const *idx, mt_kexpr **out)
{
    int off = tout->rank - tin->rank;
    for (int a = 0; a < tin->rank; a++)
        out[a] = tin->dims[a] == 1 ? chk(s, mt_kx_int(s->p, 0)) : idx[a + off];
}

/* max(0, min(x, hi)) */
static mt_kexpr *clamp(mt_lower_state *s, mt_kexpr *x, int64_t hi)
{
    mt_kprog *p = s->p;
    return mt_kx_binary(p, MT_KX_MAX, mt_kx_binary(p, MT_KX_MIN, x, mt_kx_int(p, hi)),
                        mt_kx_int(p, 0));
}

static mt_ktype ktype(const mt_lower_state *s, int id)
{
    return mt_ktype_of(s->g->nodes[id].type.dtype);
}

static mt_kexpr *fconst(mt_lower_state *s, mt_ktype t, double v)
{
    return chk(s, mt_kx_float(s->p, t, v));
}

static int is_max_op(const mt_lower_state *s, int id)
{
    mt_op op = s->g->nodes[id].op;
    return op == MT_OP_MAX || op == MT_OP_MAXPOOL2D;
}

/* ---- movement ops ---------------------------------------------------------------------- */

static mt_kexpr *lower_pad(mt_lower_state *s, const mt_node *n, mt_kexpr *const *idx)
{
    mt_kprog *p = s->p;
    const mt_type *tx = &s->g->nodes[n->in[0]].type;
    mt_kexpr *in[MT_MAX_RANK], *inside = mt_kx_uint(p, MT_KT_BOOL, 1);
    for (int a = 0; a < tx->rank; a++) {
        int64_t before = n->attrs->pads.v[2 * a], d = tx->dims[a];
        mt_kexpr *lo = mt_kx_binary(p, MT_KX_GE, idx[a], mt_kx_int(p, before));
        mt_kexpr *hi = mt_kx_binary(p, MT_KX_LT, idx[a], mt_kx_int(p, before + d));
        inside = mt_kx_binary(p, MT_KX_AND, inside, mt_kx_binary(p, MT_KX_AND, lo, hi));
        /* Clamped, so that the load in the untaken arm stays inside x. */
        in[a] = chk(s, clamp(s, mt_kx_binary(p, MT_KX_SUB, idx[a], mt_kx_int(p, before)), d - 1));
    }
    mt_kexpr *v = mt_lower_value(s, n->in[0], in);
    return chk(s, mt_kx_select(p, inside, v, fconst(s, mt_ktype_of(n->type.dtype), 0.0)));
}

static mt_kexpr *lower_concat(mt_lower_state *s, const mt_node *n, mt_kexpr *const *idx)
{
    mt_kprog *p = s->p;
    int k = mt_axis(n->attrs->dim, n->type.rank);
    /* From the last operand back: it is the fallback, and each earlier one takes over below
     * its end along axis k. `start` walks back from the total. */
    int64_t start = n->type.dims[k];
    mt_kexpr *v = NULL;
    for (int j = n->nin - 1; j >= 0; j--) {
        const mt_type *tj = &s->g->nodes[n->in[j]].type;
        start -= tj->dims[k];
        mt_kexpr *in[MT_MAX_RANK];
        for (int a = 0; a < n->type.rank; a++)
            in[a] = idx[a];
        in[k] = chk(
            s, clamp(s, mt_kx_binary(p, MT_KX_SUB, idx[k], mt_kx_int(p, start)), tj->dims[k] - 1));
        mt_kexpr *vj = mt_lower_value(s, n->in[j], in);
        if (!v) {
            v = vj;
            continue;
        }
        mt_kexpr *below = mt_kx_binary(p, MT_KX_LT, idx[k], mt_kx_int(p, start + tj->dims[k]));
        v = chk(s, mt_kx_select(p, below, vj, v));
    }
    return v;
}

static mt_kexpr *lower_move(mt_lower_state *s, int id, mt_kexpr *const *idx)
{
    const mt_node *n = &s->g->nodes[id];
    const mt_type *tx = &s->g->nodes[n->in[0]].type;
    mt_kexpr *in[MT_MAX_RANK];
    switch (n->op) {
    case MT_OP_RESHAPE: {
        /* Through the flat offset; the index simplifier drops the divisions where the two
         * shapes share their row-major digits. */
        mt_kexpr *flat = mt_lower_flat(s, &n->type, idx);
        int64_t st[MT_MAX_RANK];
        mt_type_strides(tx, st);
        for (int a = 0; a < tx->rank; a++)
            in[a] = chk(s, mt_kx_binary(s->p, MT_KX_MOD,
                                        mt_kx_binary(s->p, MT_KX_DIV, flat, mt_kx_int(s->p, st[a])),
                                        mt_kx_int(s->p, tx->dims[a])));
        break;
    }
    case MT_OP_PERMUTE:
        for (int i = 0; i < n->type.rank; i++)
            in[n->attrs->perm.v[i]] = idx[i];
        break;
    case MT_OP_EXPAND: mt_lower_broadcast(s, tx, &n->type, idx, in); break;
    case MT_OP_SLICE:
        for (int a = 0; a < tx->rank; a++)
            in[a] = chk(
                s, mt_kx_binary(s->p, MT_KX_ADD, idx[a], mt_kx_int(s->p, n->attrs->start.v[a])));
        break;
    case MT_OP_PAD: return lower_pad(s, n, idx);
    case MT_OP_CONCAT: return lower_concat(s, n, idx);
    default: s->oom = 1; return NULL; /* unreachable: the caller checked MT_F_MOVE */
    }
    return mt_lower_value(s, n->in[0], in);
}

/* ---- elementwise ops ------------------------------------------------------------------- */

static mt_kexpr *cmp_to_float(mt_lower_state *s, mt_kexpr *c, mt_ktype t)
{
    return mt_kx_select(s->p, c, fconst(s, t, 1.0), fconst(s, t, 0.0));
}

/* The scalar formulas of the op table; runtime/interp.c is the specification. */
static mt_kexpr *scalar_op(mt_lower_state *s, mt_op op, mt_ktype t, mt_kexpr *const *x)
{
    mt_kprog *p = s->p;
    mt_kexpr *a = x[0], *b = x[1];
    switch (op) {
    case MT_OP_NEG: return mt_kx_unary(p, MT_KX_NEG, a);
    case MT_OP_ALLREDUCE: return a; /* the local value; the executor reduces the buffer */
    case MT_OP_EXP: return mt_kx_unary(p, MT_KX_EXP, a);
    case MT_OP_LOG: return mt_kx_unary(p, MT_KX_LOG, a);
    case MT_OP_SQRT: return mt_kx_unary(p, MT_KX_SQRT, a);
    case MT_OP_TANH: return mt_kx_unary(p, MT_KX_TANH, a);
    case MT_OP_ABS: return mt_kx_unary(p, MT_KX_ABS, a);
    case MT_OP_INV: return mt_kx_binary(p, MT_KX_DIV, fconst(s, t, 1.0), a);
    case MT_OP_RELU: /* x <= 0 is false for NaN, which passes through */
        return mt_kx_select(p, mt_kx_binary(p, MT_KX_LE, a, fconst(s, t, 0.0)), fconst(s, t, 0.0),
                            a);
    case MT_OP_SIGMOID: return mt_kx_unary(p, MT_KX_SIGMOID, a);
    case MT_OP_ADD: return mt_kx_binary(p, MT_KX_ADD, a, b);
    case MT_OP_SUB: return mt_kx_binary(p, MT_KX_SUB, a, b);
    case MT_OP_MUL: return mt_kx_binary(p, MT_KX_MUL, a, b);
    case MT_OP_DIV: return mt_kx_binary(p, MT_KX_DIV, a, b);
    case MT_OP_POW: return mt_kx_binary(p, MT_KX_POW, a, b);
    case MT_OP_MAXIMUM:
    case MT_OP_MINIMUM: {
        /* NaN in either operand gives NaN: a NaN b loses the comparison and is picked, a NaN
         * a is picked by the outer select. */
        mt_kop pick = op == MT_OP_MAXIMUM ? MT_KX_GT : MT_KX_LT;
        mt_kexpr *m = mt_kx_select(p, mt_kx_binary(p, pick, a, b), a, b);
        return mt_kx_select(p, mt_kx_binary(p, MT_KX_NE, a, a), a, m);
    }
    case MT_OP_LT: return cmp_to_float(s, mt_kx_binary(p, MT_KX_LT, a, b), t);
    case MT_OP_GT: return cmp_to_float(s, mt_kx_binary(p, MT_KX_GT, a, b), t);
    case MT_OP_EQ: return cmp_to_float(s, mt_kx_binary(p, MT_KX_EQ, a, b), t);
    case MT_OP_WHERE: /* c != 0 holds for NaN, as in C */
        return mt_kx_select(p, mt_kx_binary(p, MT_KX_NE, a, fconst(s, t, 0.0)), b, x[2]);
    default: return NULL;
    }
}

/* The low and high words of a non-negative i64. */
static void split_words(mt_kprog *p, mt_kexpr *v, mt_kexpr **lo, mt_kexpr **hi)
{
    *lo = mt_kx_cast(p, MT_KT_U32, v);
    *hi = mt_kx_cast(
        p, MT_KT_U32,
        mt_kx_binary(p, MT_KX_SHR, mt_kx_cast(p, MT_KT_U64, v), mt_kx_uint(p, MT_KT_U64, 32)));
}

/* The stream of `rand %k` (runtime/philox.c mt_rand_stream): floor(k) clamped to [0, 2^53],
 * NaN to 0. Casts round to nearest, so floor is the rounded value less one where it rounded
 * up. */
static mt_kexpr *rand_stream(mt_lower_state *s, const mt_node *n)
{
    mt_kprog *p = s->p;
    mt_ktype ft = mt_ktype_of(n->type.dtype);
    mt_kexpr *none[1] = {NULL};
    mt_kexpr *k = mt_lower_value(s, n->in[0], none);
    mt_kexpr *c = mt_lower_let(s, ft,
                               mt_kx_select(p, mt_kx_binary(p, MT_KX_GE, k, fconst(s, ft, 1.0)),
                                            mt_kx_binary(p, MT_KX_MIN, k, fconst(s, ft, 0x1p53)),
                                            fconst(s, ft, 0.0)));
    mt_kexpr *r = mt_lower_let(s, MT_KT_I64, mt_kx_cast(p, MT_KT_I64, c));
    mt_kexpr *up = mt_kx_binary(p, MT_KX_GT, mt_kx_cast(p, ft, r), c);
    return mt_lower_let(s, MT_KT_I64,
                        mt_kx_select(p, up, mt_kx_binary(p, MT_KX_SUB, r, mt_kx_int(p, 1)), r));
}

/* rand: Philox-4x32-10 of the node's own flat index (and of its step counter's stream), exactly
 * as runtime/philox.c. The key is a constant, so its ten round values are computed here. */
static mt_kexpr *lower_rand(mt_lower_state *s, const mt_node *n, mt_kexpr *const *idx)
{
    mt_kprog *p = s->p;
    mt_kexpr *i = mt_lower_flat(s, &n->type, idx);
    uint64_t seed = (uint64_t)n->attrs->seed;
    uint32_t k0 = (uint32_t)seed, k1 = (uint32_t)(seed >> 32);
    mt_kexpr *x[4];
    split_words(p, i, &x[0], &x[1]);
    if (n->nin == 1) {
        split_words(p, rand_stream(s, n), &x[2], &x[3]);
    } else {
        x[2] = mt_kx_uint(p, MT_KT_U32, 0);
        x[3] = mt_kx_uint(p, MT_KT_U32, 0);
    }
    mt_kexpr *m0 = mt_kx_uint(p, MT_KT_U32, MT_PHILOX_M0),
             *m1 = mt_kx_uint(p, MT_KT_U32, MT_PHILOX_M1);
    for (int r = 0; r < 10; r++) {
        if (r > 0) {
            k0 += MT_PHILOX_W0;
            k1 += MT_PHILOX_W1;
        }
        mt_kexpr *hi0 = mt_kx_binary(p, MT_KX_MULHI, m0, x[0]);
        mt_kexpr *lo0 = mt_kx_binary(p, MT_KX_MUL, m0, x[0]);
        mt_kexpr *hi1 = mt_kx_binary(p, MT_KX_MULHI, m1, x[2]);
        mt_kexpr *lo1 = mt_kx_binary(p, MT_KX_MUL, m1, x[2]);
        mt_kexpr *y0 = mt_kx_binary(p, MT_KX_XOR, mt_kx_binary(p, MT_KX_XOR, hi1, x[1]),
                                    mt_kx_uint(p, MT_KT_U32, k0));
        mt_kexpr *y2 = mt_kx_binary(p, MT_KX_XOR, mt_kx_binary(p, MT_KX_XOR, hi0, x[3]),
                                    mt_kx_uint(p, MT_KT_U32, k1));
        x[0] = mt_lower_let(s, MT_KT_U32, y0);
        x[1] = mt_lower_let(s, MT_KT_U32, lo1);
        x[2] = mt_lower_let(s, MT_KT_U32, y2);
        x[3] = mt_lower_let(s, MT_KT_U32, lo0);
    }
    if (n->type.dtype == MT_DTYPE_F32) {
        mt_kexpr *bits = mt_kx_binary(p, MT_KX_SHR, x[0], mt_kx_uint(p, MT_KT_U32, 8));
        return mt_kx_binary(p, MT_KX_MUL, mt_kx_cast(p, MT_KT_F32, bits),
                            fconst(s, MT_KT_F32, 0x1p-24));
    }
    mt_kexpr *w = mt_kx_binary(
        p, MT_KX_OR,
        mt_kx_binary(p, MT_KX_SHL, mt_kx_cast(p, MT_KT_U64, x[0]), mt_kx_uint(p, MT_KT_U64, 32)),
        mt_kx_cast(p, MT_KT_U64, x[1]));
    mt_kexpr *bits = mt_kx_binary(p, MT_KX_SHR, w, mt_kx_uint(p, MT_KT_U64, 11));
    return mt_kx_binary(p, MT_KX_MUL, mt_kx_cast(p, MT_KT_F64, bits),
                        fconst(s, MT_KT_F64, 0x1p-53));
}

/* ---- reductions ------------------------------------------------------------------------ */

static mt_lscope *scope_at_depth(mt_lower_state *s, int depth)
{
    mt_lscope *sc = s->cur;
    while (sc->depth > depth)
        sc = sc->parent;
    return sc;
}

mt_ktype mt_lower_acc_type(const mt_lower_state *s, int id)
{
    mt_op op = s->g->nodes[id].op;
    return op == MT_OP_MAX || op == MT_OP_MAXPOOL2D ? ktype(s, id) : MT_KT_F64;
}

mt_kexpr *mt_lower_acc_new(mt_lower_state *s, int id)
{
    mt_ktype t = mt_lower_acc_type(s, id);
    return mt_lower_let(s, t, fconst(s, t, is_max_op(s, id) ? -INFINITY : 0.0));
}

void mt_lower_acc_add(mt_lower_state *s, int id, mt_kexpr *acc, mt_kexpr *v)
{
    mt_kprog *p = s->p;
    mt_ktype t = mt_lower_acc_type(s, id);
    v = mt_kx_cast(p, t, v);
    mt_kexpr *next;
    if (is_max_op(s, id)) {
        v = mt_lower_let(s, t, v); /* read three times below */
        /* NaN propagates: once acc is NaN, v > acc is false and acc stays. */
        mt_kexpr *take = mt_kx_binary(p, MT_KX_OR, mt_kx_binary(p, MT_KX_NE, v, v),
                                      mt_kx_binary(p, MT_KX_GT, v, acc));
        next = mt_kx_select(p, take, v, acc);
    } else {
        next = mt_kx_binary(p, MT_KX_ADD, acc, v);
    }
    mt_lower_emit(s, mt_ks_set(p, acc ? acc->id : 0, next));
}

mt_kexpr *mt_lower_acc_result(mt_lower_state *s, int id, mt_kexpr *acc, int64_t count)
{
    mt_op op = s->g->nodes[id].op;
    mt_kexpr *r = acc;
    if (op == MT_OP_MEAN || op == MT_OP_AVGPOOL2D)
        r = mt_kx_binary(s->p, MT_KX_DIV, acc, fconst(s, MT_KT_F64, (double)count));
    return mt_lower_let(s, ktype(s, id), r);
}

static mt_kexpr *lower_reduction(mt_lower_state *s, int id, mt_kexpr *const *idx)
{
    mt_kprog *p = s->p;
    const mt_node *n = &s->g->nodes[id];
    const mt_type *tx = &s->g->nodes[n->in[0]].type;
    int pool = mt_op_is(n->op, MT_F_POOL);
    int full = !pool && n->attrs->dim == MT_DIM_ALL;
    int k = !pool && !full ? mt_axis(n->attrs->dim, tx->rank) : -1;

    int depth = 0;
    for (int a = 0; a < n->type.rank; a++) {
        int d = expr_depth(s, idx[a]);
        depth = d > depth ? d : depth;
    }
    mt_lscope *saved = s->cur, *target = scope_at_depth(s, depth);
    s->cur = target;
    mt_kexpr *acc = mt_lower_acc_new(s, id);
    /* The root's siblings reduce the same operand over the same axes: one loop for all. */
    int nsib = id == s->root ? s->nsib : 0;
    mt_kexpr **accs = nsib ? chk(s, mt_calloc((size_t)nsib, sizeof *accs)) : NULL;
    if (!accs)
        nsib = 0;
    for (int i = 0; i < nsib; i++)
        accs[i] = mt_lower_acc_new(s, s->sib[i]);
    mt_kexpr *var[MT_MAX_RANK], *in[MT_MAX_RANK] = {NULL};
    int64_t count = 1;
    for (int a = 0; a < tx->rank; a++) {
        int64_t trip = 1;
        if (pool)
            trip = a >= 2 ? n->attrs->kernel[a - 2] : 1;
        else if (full || a == k)
            trip = tx->dims[a];
        count *= trip;
        var[a] = trip > 1 ? mt_lower_open(s, trip, MT_KLOOP_REDUCE) : NULL;
        if (pool && a >= 2)
            in[a] =
                mt_kx_binary(p, MT_KX_ADD, mt_kx_binary(p, MT_KX_MUL, idx[a], mt_kx_int(p, trip)),
                             var[a] ? var[a] : mt_kx_int(p, 0));
        else if (trip > 1)
            in[a] = var[a];
        else if (full || a == k)
            in[a] = mt_kx_int(p, 0);
        else
            in[a] = idx[a];
        chk(s, in[a]);
    }
    mt_kexpr *v = mt_lower_value(s, n->in[0], in);
    mt_lower_acc_add(s, id, acc, v);
    for (int i = 0; i < nsib; i++)
        mt_lower_acc_add(s, s->sib[i], accs[i], v);
    for (int a = tx->rank - 1; a >= 0; a--)
        if (var[a])
            mt_lower_close(s, var[a]);
    mt_kexpr *r = mt_lower_acc_result(s, id, acc, count);
    for (int i = 0; i < nsib; i++)
        memo_add(s, s->sib[i], idx, mt_lower_acc_result(s, s->sib[i], accs[i], count), target);
    mt_free(accs);
    s->cur = saved;
    memo_add(s, id, idx, r, target);
    return r;
}

/* ---- values ---------------------------------------------------------------------------- */

static mt_kexpr *compute(mt_lower_state *s, int id, mt_kexpr *const *idx)
{
    const mt_node *n = &s->g->nodes[id];
    unsigned fl = mt_op_get(n->op)->flags;
    if (fl & MT_F_MOVE)
        return lower_move(s, id, idx);
    if (n->op == MT_OP_CONST)
        return fconst(s, ktype(s, id), n->attrs->value);
    mt_kexpr *known = memo_find(s, id, idx);
    if (known)
        return known;
    if (fl & (MT_F_REDUCE | MT_F_POOL))
        return lower_reduction(s, id, idx);
    mt_ktype t = ktype(s, id);
    mt_kexpr *v;
    if (n->op == MT_OP_RAND) {
        v = lower_rand(s, n, idx);
    } else if (fl & (MT_F_UNARY | MT_F_BINARY | MT_F_TERNARY | MT_F_COLLECTIVE)) {
        mt_kexpr *x[3] = {NULL, NULL, NULL};
        for (int j = 0; j < n->nin; j++) {
            mt_kexpr *in[MT_MAX_RANK];
            mt_lower_broadcast(s, &s->g->nodes[n->in[j]].type, &n->type, idx, in);
            x[j] = mt_lower_value(s, n->in[j], in);
        }
        v = scalar_op(s, n->op, t, x);
    } else {
        v = NULL; /* unreachable: contractions are kernel cores, leaves are loaded */
    }
    mt_kexpr *r = mt_lower_let(s, t, v);
    memo_add(s, id, idx, r, s->cur);
    return r;
}

mt_kexpr *mt_lower_value(mt_lower_state *s, int id, mt_kexpr *const *idx)
{
    if (s->oom)
        return NULL;
    mt_fuse_role role = s->f->role[id];
    int stored = (role == MT_FUSE_ROOT || role == MT_FUSE_LEAF) && id != s->root;
    for (int i = 0; i < s->nsib && stored; i++)
        stored = id != s->sib[i];
    if (id == s->core && s->core != s->root) {
        /* The epilogue reads the core's sums where the core left them. */
        const mt_type *t = &s->g->nodes[s->root].type;
        return chk(s, mt_kx_load(s->p, s->buf_of[s->root], ktype(s, id), mt_lower_flat(s, t, idx)));
    }
    if (stored)
        return chk(s, mt_kx_load(s->p, s->buf_of[id], ktype(s, id),
                                 mt_lower_flat(s, &s->g->nodes[id].type, idx)));
    return chk(s, compute(s, id, idx));
}

void mt_lower_epilogue(mt_lower_state *s, mt_kexpr *const *idx)
{
    if (s->root == s->core)
        return;
    const mt_type *t = &s->g->nodes[s->root].type;
    mt_kexpr *v = mt_lower_value(s, s->root, idx);
    mt_lower_emit(s, mt_ks_store(s->p, s->buf_of[s->root], mt_lower_flat(s, t, idx), v));
}

/* ---- kernels --------------------------------------------------------------------------- */

int mt_lower_open_outer(mt_lower_state *s, const mt_type *t, int naxes, mt_kexpr **idx,
                        mt_kexpr **vars)
{
    mt_kprog *p = s->p;
    int m = 0, n = 0;
    int64_t prod = 1;
    if (s->collapse)
        while (m < naxes && prod < s->t->parallel_min_trip)
            prod *= t->dims[m++];
    /* Every loop over the axes of a result is independent (each iteration stores its own
     * elements), so each is marked parallel; the executor splits only the outermost. */
    unsigned flags = MT_KLOOP_PARALLEL;
    if (m >= 2) {
        /* One parallel loop over the leading axes; the simplifier turns the divisions back
         * into plain offsets wherever the data is contiguous. */
        mt_kexpr *v = vars[n++] = mt_lower_open(s, prod, flags);
        int64_t inner = prod;
        for (int a = 0; a < m; a++) {
            inner /= t->dims[a];
            idx[a] = chk(s, mt_kx_binary(p, MT_KX_MOD,
                                         mt_kx_binary(p, MT_KX_DIV, v, mt_kx_int(p, inner)),
                                         mt_kx_int(p, t->dims[a])));
        }
    } else {
        m = 0;
    }
    for (int a = m; a < naxes; a++)
        idx[a] = vars[n++] = mt_lower_open(s, t->dims[a], flags);
    return n;
}

void mt_lower_close_outer(mt_lower_state *s, mt_kexpr **vars, int n)
{
    for (int i = n - 1; i >= 0; i--)
        mt_lower_close(s, vars[i]);
}

/* Loops over every axis of t, stores value(id) (or a copy of buffer copy_from) into `buf`. */
static int64_t block_work(const mt_kstmt *st)
{
    int64_t w = 0;
    for (; st; st = st->next) {
        int64_t inner = st->kind == MT_KS_FOR    ? block_work(st->body)
                        : st->kind == MT_KS_GEMM ? mt_kgemm_row_macs(st->gemm)
                                                 : 1;
        int64_t t = st->kind == MT_KS_FOR ? st->trip : 1;
        if (inner < 1)
            inner = 1;
        w += t > INT64_MAX / inner ? INT64_MAX / 4 : t * inner;
        if (w > INT64_MAX / 4)
            w = INT64_MAX / 4;
    }
    return w;
}

/* "%y: matmul add relu": the stored value and the graph ops the kernel computes (the first
 * few dozen of a long chain). The caller frees it; NULL when out of memory. */
void mt_lower_begin(mt_lower_state *s, int root, int core)
{
    memset(&s->top, 0, sizeof s->top);
    s->cur = &s->top;
    s->nloops = s->nscalars = s->nmemo = 0;
    s->root = root;
    s->core = core;
    s->sib = NULL;
    s->nsib = 0;
}

void mt_lower_finish(mt_lower_state *s, const char *note)
{
    mt_kprog *p = s->p;
    if (s->oom || s->bug)
        return;
    mt_kernel kern;
    memset(&kern, 0, sizeof kern);
    char name[32];
    snprintf(name, sizeof name, "k%d", p->nkernels);
    kern.name = chk(s, mt_arena_strdup(&p->arena, name));
    kern.root = s->root;
    kern.note = chk(s, mt_arena_strdup(&p->arena, note ? note : ""));
    kern.nloops = s->nloops;
    kern.nscalars = s->nscalars;
    kern.scalar_types =
        chk(s, mt_arena_alloc(&p->arena, ((size_t)s->nscalars + 1) * sizeof *kern.scalar_types));
    if (kern.scalar_types && s->nscalars)
        memcpy(kern.scalar_types, s->scalar_types, (size_t)s->nscalars * sizeof *kern.scalar_types);
    kern.body = s->top.block.first;
    kern.work = block_work(kern.body);
    const mt_node *r = &s->g->nodes[s->root];
    if (mt_op_is(r->op, MT_F_COLLECTIVE)) {
        kern.allreduce = 1;
        kern.allreduce_op = (int)r->attrs->reduce;
        kern.allreduce_buf = s->buf_of[s->root];
    }
    if (s->oom || !mt_kernel_collect_bufs(p, &kern) || mt_kprog_add_kernel(p, &kern) < 0)
        s->oom = 1;
}

/* Builds fusion kernel k (two kernels when its reduction is split), or (k < 0) a copy of
 * leaf `root` into buffer `out`. */
