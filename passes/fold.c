/* fold.c - constant folding: a node computed only from constants becomes a constant.
 *
 * Requires: a well-formed graph.
 * Guarantees: the same leaves (in order, same names) and output names; every node whose
 * operands are all `const` and whose value is uniform (every element equal, which is all a
 * `const` can hold) is replaced by `const value=v` of the node's type, under the node's name.
 * Numbers are the interpreter's: elementwise ops are evaluated by mt_interp_node itself (on
 * rank-0 tensors, which gives the same double arithmetic and the same single rounding to the
 * dtype). Nodes folded:
 *   - elementwise ops (unary, binary, comparisons, where) of consts: always uniform;
 *   - reshape, expand, permute, slice of a const: the same value in the new type;
 *   - sum of a const: value * count (rounded once to the dtype); mean and max: the value;
 *   - any other op of consts (pad, concat, matmul, conv, pools): evaluated by the interpreter
 *     on the real shapes when they are small (at most FOLD_MAX_ELEMS elements in all), and
 *     folded only when the result is uniform (a padded const with value 0 is, a matmul of
 *     consts is; a padded const with value 1 is not).
 * `rand` is never folded (it is not uniform) and the graph is not pruned: the consts that fed
 * a folded node stay until dce removes them. One forward sweep reaches the fixed point, because
 * a folded node is a const by the time its users are visited.
 */
#include <math.h>
#include <string.h>

#include "ir/alloc.h"
#include "passes/pass.h"
#include "passes/rewrite.h"
#include "runtime/interp.h"

/* Operands plus result: above this a general op is left alone rather than evaluated. */
#define FOLD_MAX_ELEMS (1 << 16)

/* v as the dtype holds it: what the interpreter would read back from a tensor. */
static double round_to(mt_dtype dt, double v) { return dt == MT_DTYPE_F32 ? (double)(float)v : v; }

static mt_tensor *filled(mt_type t, double v)
{
    mt_tensor *x = mt_tensor_new(t);
    if (!x)
        return NULL;
    int64_t n = mt_type_numel(&t);
    for (int64_t i = 0; i < n; i++) {
        if (t.dtype == MT_DTYPE_F32)
            ((float *)x->data)[i] = (float)v;
        else
            ((double *)x->data)[i] = v;
    }
    return x;
}

static double element(const mt_tensor *t, int64_t i)
{
    if (t->type.dtype == MT_DTYPE_F32)
        return ((const float *)t->data)[i];
    return ((const double *)t->data)[i];
}

/* Two elements are the same value when their bits are, or when both are NaN. */
static int same_value(double a, double b)
{
    if (isnan(a) && isnan(b))
        return 1;
    return memcmp(&a, &b, sizeof a) == 0;
}

/* Evaluates node n on operands that are consts of values vals[] and the given types. Sets
 * *ok when the result is uniform, with its value in *v. Only out-of-memory is an error: an op
 * the interpreter refuses is simply not folded. */
static mt_status evaluate(const mt_node *n, const mt_type *types, const double *vals, double *v,
                          int *ok, mt_diag *d)
{
    mt_tensor *small[8] = {0}, **in = small, *res = NULL;
    mt_status st = MT_OK;
    *ok = 0;
    if (n->nin > 8) {
        in = mt_calloc((size_t)n->nin, sizeof *in);
        if (!in)
            return mt_diag_set(d, MT_ERR_NOMEM, "out of memory");
    }
    for (int i = 0; i < n->nin && st == MT_OK; i++)
        if (!(in[i] = filled(types[i], vals[i])))
            st = mt_diag_set(d, MT_ERR_NOMEM, "out of memory");
    if (st == MT_OK) {
        mt_diag local;
        mt_diag_init(&local);
        mt_status ist = mt_interp_node(n, (const mt_tensor *const *)in, &res, &local);
        mt_diag_fini(&local);
        if (ist == MT_ERR_NOMEM)
            st = mt_diag_set(d, MT_ERR_NOMEM, "out of memory");
    }
    if (res) {
        int64_t count = mt_type_numel(&res->type);
        *v = element(res, 0);
        *ok = 1;
        for (int64_t i = 1; i < count && *ok; i++)
            *ok = same_value(element(res, i), *v);
    }
    for (int i = 0; i < n->nin; i++)
        mt_tensor_free(in[i]);
    if (in != small)
        mt_free(in);
    mt_tensor_free(res);
    return st;
}

/* The value of node n, all of whose operands are consts (values vals[], types types[]). */
static mt_status fold_value(const mt_node *n, const mt_type *types, const double *vals, double *v,
                            int *ok, mt_diag *d)
{
    unsigned f = mt_op_get(n->op)->flags;
    *ok = 0;
    if (f & (MT_F_UNARY | MT_F_BINARY | MT_F_TERNARY)) {
        /* Elementwise on uniform operands: one element says it all. */
        mt_node scalar = *n;
        mt_type st[3];
        for (int i = 0; i < n->nin; i++)
            st[i] = mt_type_make(types[i].dtype, 0, NULL);
        scalar.type = mt_type_make(n->type.dtype, 0, NULL);
        return evaluate(&scalar, st, vals, v, ok, d);
    }
    switch (n->op) {
    case MT_OP_RESHAPE:
    case MT_OP_EXPAND:
    case MT_OP_PERMUTE:
    case MT_OP_SLICE:
    case MT_OP_MEAN:
    case MT_OP_MAX:
        *v = vals[0];
        *ok = 1;
        return MT_OK;
    case MT_OP_SUM: {
        double count = (double)(mt_type_numel(&types[0]) / mt_type_numel(&n->type));
        *v = round_to(n->type.dtype, round_to(types[0].dtype, vals[0]) * count);
        *ok = 1;
        return MT_OK;
    }
    default: break;
    }
    int64_t total = mt_type_numel(&n->type);
    for (int i = 0; i < n->nin; i++)
        total += mt_type_numel(&types[i]);
    if (total > FOLD_MAX_ELEMS)
        return MT_OK;
    return evaluate(n, types, vals, v, ok, d);
}

static mt_status fold(mt_rewrite *rw, mt_diag *d)
{
    const mt_graph *src = rw->src;
    mt_graph *dst = rw->dst;
    int *map = rw->map;
    mt_type *types = NULL;
    double *vals = NULL;
    int cap = 0;
    mt_status st = MT_OK;
    for (int i = 0; i < src->nnodes && st == MT_OK; i++) {
        const mt_node *n = &src->nodes[i];
        /* A collective's value depends on the other ranks: never folded. */
        int foldable = !mt_op_is(n->op, MT_F_LEAF | MT_F_SOURCE | MT_F_COLLECTIVE);
        for (int k = 0; k < n->nin && foldable; k++)
            foldable = dst->nodes[map[n->in[k]]].op == MT_OP_CONST;
        int id = -1;
        if (foldable) {
            if (n->nin > cap) {
                cap = n->nin;
                mt_free(types);
                mt_free(vals);
                types = mt_malloc((size_t)cap * sizeof *types);
                vals = mt_malloc((size_t)cap * sizeof *vals);
                if (!types || !vals) {
                    st = mt_diag_set(d, MT_ERR_NOMEM, "out of memory");
                    break;
                }
            }
            for (int k = 0; k < n->nin; k++) {
                const mt_node *c = &dst->nodes[map[n->in[k]]];
                types[k] = c->type;
                vals[k] = c->attrs->value;
            }
            double v = 0;
            int ok = 0;
            st = fold_value(n, types, vals, &v, &ok, d);
            if (st != MT_OK)
                break;
            if (ok) {
                mt_attrs a;
                mt_attrs_init(&a);
                a.value = v;
                id = mt_rewrite_add(dst, n, MT_OP_CONST, NULL, 0, &a, &n->type, d);
                if (id < 0)
                    st = mt_rewrite_err(d);
            }
        }
        if (st == MT_OK && id < 0) {
            id = mt_graph_copy_node(dst, src, i, map, d);
            if (id < 0)
                st = mt_rewrite_err(d);
        }
        map[i] = id;
    }
    mt_free(types);
    mt_free(vals);
    return st;
}

mt_status mt_pass_fold(const mt_graph *in, mt_graph **out, mt_diag *d)
{
    return mt_rewrite_run(in, fold, out, d);
}
