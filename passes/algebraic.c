/* algebraic.c - algebraic identities: nodes that compute nothing new are removed.
 *
 * Requires: a well-formed graph. Best run after fold, so that constants are `const` nodes.
 * Guarantees: the same leaves (in order, same names) and output names, the same numbers (up to
 * the sign of a zero: x + 0 is +0 where x is -0), and these rewrites, where c0 and c1 are
 * `const` nodes of value 0 and 1 (after rounding to their dtype):
 *     x * c1, c1 * x, x + c0, c0 + x, x - c0, x / c1   ->  x
 *     neg (neg x)                                      ->  x
 *     reshape (reshape x)                              ->  reshape x   (the outer shape)
 *     reshape x to x's own shape                       ->  x
 *     permute (permute x p) q                          ->  permute x (p[q[i]]), or x when that
 *                                                          is the identity
 *     permute x by the identity                        ->  x
 *     expand (expand x)                                ->  expand x    (the outer shape)
 *     expand x to x's own shape                        ->  x
 *     sum/mean/max over an axis of size 1              ->  x (the axis is kept, so the type is
 *                                                          the same)
 *     sum/mean/max of everything of a one-element x    ->  x at rank 0 (a reshape), or x
 * "-> x" is exact only when the node's type is x's type. Broadcasting can make it larger
 * (f32[3] + const f32[2,3] is f32[2,3]): then the node becomes `expand x` to its type.
 * A node replaced by x disappears and its users read x; the nodes it used stay for dce.
 * Rewrites apply to the new graph as it is built, so chains (neg of neg of neg, reshape of
 * reshape of reshape) collapse in one forward sweep: the pass is its own fixed point.
 */
#include <string.h>

#include "passes/pass.h"
#include "passes/rewrite.h"

static double round_to(mt_dtype dt, double v) { return dt == MT_DTYPE_F32 ? (double)(float)v : v; }

/* 1 when dst node id is `const` of value v in its dtype. */
static int is_const(const mt_graph *g, int id, double v)
{
    const mt_node *n = &g->nodes[id];
    return n->op == MT_OP_CONST && round_to(n->type.dtype, n->attrs->value) == v;
}

/* What a node becomes: an existing value (alias >= 0), or a new node (op, x, attrs). */
typedef struct rewrite {
    int alias;
    int replace; /* 1: build `op x attrs` instead of copying the node */
    mt_op op;
    int x;
    mt_attrs attrs;
} rewrite;

static void set_list(mt_ilist *l, const mt_type *t)
{
    l->n = t->rank;
    for (int i = 0; i < t->rank; i++)
        l->v[i] = t->dims[i];
}

/* The node's value is x's values in the node's type (row-major order unchanged). */
static void reshape_of(rewrite *r, const mt_graph *g, int x, const mt_type *type)
{
    if (g->nodes[x].op == MT_OP_RESHAPE && !mt_type_equal(&g->nodes[x].type, type))
        x = g->nodes[x].in[0];
    if (mt_type_equal(&g->nodes[x].type, type)) {
        r->alias = x;
        return;
    }
    r->replace = 1;
    r->op = MT_OP_RESHAPE;
    r->x = x;
    mt_attrs_init(&r->attrs);
    set_list(&r->attrs.shape, type);
}

/* The node's value is x's values broadcast to the node's type. x broadcasts to an expand's
 * shape and that shape to the node's, so x broadcasts to the node's type directly. */
static void expand_of(rewrite *r, const mt_graph *g, int x, const mt_type *type)
{
    if (g->nodes[x].op == MT_OP_EXPAND && !mt_type_equal(&g->nodes[x].type, type))
        x = g->nodes[x].in[0];
    if (mt_type_equal(&g->nodes[x].type, type)) {
        r->alias = x;
        return;
    }
    r->replace = 1;
    r->op = MT_OP_EXPAND;
    r->x = x;
    mt_attrs_init(&r->attrs);
    set_list(&r->attrs.shape, type);
}

/* Decides what src node n becomes; `in` holds its operands' ids in g (the new graph). A
 * rewrite that rebuilds the node as it was is harmless: it equals the copy. */
static void simplify(const mt_node *n, const int *in, const mt_graph *g, rewrite *r)
{
    r->alias = -1;
    r->replace = 0;
    const mt_node *a = n->nin > 0 ? &g->nodes[in[0]] : NULL;
    switch (n->op) {
    case MT_OP_MUL:
        if (is_const(g, in[1], 1.0))
            expand_of(r, g, in[0], &n->type);
        else if (is_const(g, in[0], 1.0))
            expand_of(r, g, in[1], &n->type);
        return;
    case MT_OP_ADD:
        if (is_const(g, in[1], 0.0))
            expand_of(r, g, in[0], &n->type);
        else if (is_const(g, in[0], 0.0))
            expand_of(r, g, in[1], &n->type);
        return;
    case MT_OP_SUB:
        if (is_const(g, in[1], 0.0))
            expand_of(r, g, in[0], &n->type);
        return;
    case MT_OP_DIV:
        if (is_const(g, in[1], 1.0))
            expand_of(r, g, in[0], &n->type);
        return;
    case MT_OP_NEG:
        if (a->op == MT_OP_NEG)
            r->alias = a->in[0];
        return;
    case MT_OP_RESHAPE: reshape_of(r, g, in[0], &n->type); return;
    case MT_OP_PERMUTE: {
        int x = in[0];
        mt_ilist p = n->attrs->perm;
        if (a->op == MT_OP_PERMUTE) {
            /* Result dim i is a's dim q[i], which is x's dim p[q[i]]. */
            for (int i = 0; i < p.n; i++)
                p.v[i] = a->attrs->perm.v[n->attrs->perm.v[i]];
            x = a->in[0];
        }
        int identity = 1;
        for (int i = 0; i < p.n; i++)
            identity &= p.v[i] == i;
        if (identity) {
            r->alias = x;
        } else if (x != in[0]) {
            r->replace = 1;
            r->op = MT_OP_PERMUTE;
            r->x = x;
            mt_attrs_init(&r->attrs);
            r->attrs.perm = p;
        }
        return;
    }
    case MT_OP_EXPAND: expand_of(r, g, in[0], &n->type); return;
    case MT_OP_SUM:
    case MT_OP_MEAN:
    case MT_OP_MAX:
        if (n->attrs->dim != MT_DIM_ALL) {
            int k = mt_axis(n->attrs->dim, a->type.rank);
            if (k >= 0 && a->type.dims[k] == 1)
                r->alias = in[0];
        } else if (mt_type_numel(&a->type) == 1) {
            reshape_of(r, g, in[0], &n->type);
        }
        return;
    default: return;
    }
}

static mt_status algebraic(mt_rewrite *rw, mt_diag *d)
{
    const mt_graph *src = rw->src;
    for (int i = 0; i < src->nnodes; i++) {
        const mt_node *n = &src->nodes[i];
        int in[64];
        for (int k = 0; k < n->nin; k++)
            in[k] = rw->map[n->in[k]];
        rewrite r = {.alias = -1};
        if (!mt_op_is(n->op, MT_F_LEAF))
            simplify(n, in, rw->dst, &r);
        if (r.alias >= 0) {
            mt_status st = mt_rewrite_alias(rw, i, r.alias, d);
            if (st != MT_OK)
                return st;
            continue;
        }
        if (r.replace)
            rw->map[i] = mt_rewrite_add(rw->dst, n, r.op, &r.x, 1, &r.attrs, NULL, d);
        else
            rw->map[i] = mt_graph_copy_node(rw->dst, src, i, rw->map, d);
        if (rw->map[i] < 0)
            return mt_rewrite_err(d);
    }
    return MT_OK;
}

mt_status mt_pass_algebraic(const mt_graph *in, mt_graph **out, mt_diag *d)
{
    return mt_rewrite_run(in, algebraic, out, d);
}
