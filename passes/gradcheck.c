/* gradcheck.c - the numeric oracle for autodiff: central differences in f64.
 *
 * Sits beside the gradient pass (autodiff.c) and checks it end to end: the analytic gradient is
 * mt_pass_grad's graph run on the reference interpreter, the numeric one is the forward graph
 * run twice per element with that element nudged by +-eps. In f64 with eps = 1e-6 the central
 * difference is good to about 1e-9 relative on smooth functions (truncation error O(eps^2),
 * rounding error O(1e-16 / eps)), far below any wrong rule. When a whole-graph check fails,
 * mt_gradcheck_nodes finds the culprit by checking each node's rule alone.
 */
#include "passes/gradcheck.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "ir/alloc.h"
#include "passes/autodiff.h"
#include "passes/pass.h"
#include "runtime/interp.h"

static int is_leaf(mt_op op) { return mt_op_is(op, MT_F_LEAF); }

mt_status mt_gradcheck_to_f64(const mt_graph *g, mt_graph **out, mt_diag *d)
{
    *out = NULL;
    mt_graph *h = mt_graph_new(mt_graph_name(g));
    int *map = mt_calloc((size_t)g->nnodes + 1, sizeof *map);
    if (!h || !map) {
        mt_graph_free(h);
        mt_free(map);
        return mt_diag_set(d, MT_ERR_NOMEM, "out of memory");
    }
    mt_status st = MT_OK;
    for (int id = 0; id < g->nnodes && st == MT_OK; id++) {
        const mt_node *n = mt_graph_node(g, id);
        mt_type t = n->type;
        t.dtype = MT_DTYPE_F64;
        int in[64];
        for (int k = 0; k < n->nin; k++)
            in[k] = map[n->in[k]];
        if (is_leaf(n->op))
            map[id] = mt_graph_add_leaf(h, n->op, n->name, t, NULL, n->line, n->col, d);
        else
            map[id] =
                mt_graph_add(h, n->op, in, n->nin, n->attrs, n->name,
                             mt_op_is(n->op, MT_F_SOURCE) ? &t : NULL, NULL, n->line, n->col, d);
        if (map[id] < 0)
            st = d->status;
        else if (n->note && mt_graph_set_note(h, map[id], n->note) != MT_OK)
            st = mt_diag_set(d, MT_ERR_NOMEM, "out of memory");
    }
    if (st == MT_OK && g->has_outputs) {
        int *outs = mt_calloc((size_t)g->noutputs, sizeof *outs);
        if (!outs)
            st = mt_diag_set(d, MT_ERR_NOMEM, "out of memory");
        for (int i = 0; outs && i < g->noutputs; i++)
            outs[i] = map[g->outputs[i]];
        if (outs)
            st = mt_graph_set_outputs(h, outs, g->noutputs, d);
        mt_free(outs);
    }
    for (int i = 0; i < g->nupdates && st == MT_OK; i++)
        st = mt_graph_add_update(h, map[g->updates[i].target], map[g->updates[i].value], NULL,
                                 g->updates[i].line, g->updates[i].col, d);
    mt_free(map);
    if (st != MT_OK) {
        mt_graph_free(h);
        return st;
    }
    *out = h;
    return MT_OK;
}

/* ---- random values --------------------------------------------------------------------- */

static uint64_t splitmix64(uint64_t *state)
{
    uint64_t z = (*state += UINT64_C(0x9E3779B97F4A7C15));
    z = (z ^ (z >> 30)) * UINT64_C(0xBF58476D1CE4E5B9);
    z = (z ^ (z >> 27)) * UINT64_C(0x94D049BB133111EB);
    return z ^ (z >> 31);
}

void mt_gradcheck_fill(mt_tensor *t, uint64_t *state, double lo, double hi)
{
    int64_t n = mt_type_numel(&t->type);
    for (int64_t i = 0; i < n; i++) {
        double u = (double)(splitmix64(state) >> 11) * 0x1p-53;
        double v = lo + (hi - lo) * u;
        if (t->type.dtype == MT_DTYPE_F64)
            ((double *)t->data)[i] = v;
        else
            ((float *)t->data)[i] = (float)v;
    }
}

/* Whether leaf `id` feeds an operand slot that needs positive values to stay smooth. */
static int needs_positive(const mt_graph *g, int id)
{
    for (int u = id + 1; u < g->nnodes; u++) {
        const mt_node *n = mt_graph_node(g, u);
        for (int k = 0; k < n->nin; k++) {
            if (n->in[k] != id)
                continue;
            if ((n->op == MT_OP_LOG || n->op == MT_OP_SQRT || n->op == MT_OP_INV) ||
                (n->op == MT_OP_POW && k == 0) || (n->op == MT_OP_DIV && k == 1))
                return 1;
        }
    }
    return 0;
}

mt_status mt_gradcheck_random_leaves(const mt_graph *g, uint64_t seed, mt_tensor **leaves,
                                     mt_diag *d)
{
    uint64_t state = seed;
    for (int id = 0; id < g->nnodes; id++)
        leaves[id] = NULL;
    for (int id = 0; id < g->nnodes; id++) {
        const mt_node *n = mt_graph_node(g, id);
        if (!is_leaf(n->op))
            continue;
        leaves[id] = mt_tensor_new(n->type);
        if (!leaves[id]) {
            for (int j = 0; j < id; j++) {
                mt_tensor_free(leaves[j]);
                leaves[j] = NULL;
            }
            return mt_diag_set(d, MT_ERR_NOMEM, "out of memory");
        }
        if (needs_positive(g, id))
            mt_gradcheck_fill(leaves[id], &state, 0.5, 1.5);
        else
            mt_gradcheck_fill(leaves[id], &state, -1.0, 1.0);
    }
    return MT_OK;
}

/* ---- central differences --------------------------------------------------------------- */

static double read_f64(const mt_tensor *t, int64_t i)
{
    return t->type.dtype == MT_DTYPE_F64 ? ((const double *)t->data)[i]
                                         : ((const float *)t->data)[i];
}

/* The first output of g on `leaves` as a double. */
static mt_status first_output(const mt_graph *g, const mt_tensor *const *leaves, double *v,
                              mt_diag *d)
{
    mt_tensor **outs = mt_calloc((size_t)g->noutputs, sizeof *outs);
    if (!outs)
        return mt_diag_set(d, MT_ERR_NOMEM, "out of memory");
    mt_status st = mt_interp_run(g, leaves, outs, d);
    if (st == MT_OK)
        *v = read_f64(outs[0], 0);
    for (int i = 0; i < g->noutputs; i++)
        mt_tensor_free(outs[i]);
    mt_free(outs);
    return st;
}

mt_status mt_gradcheck_numeric(const mt_graph *g, const mt_tensor *const *leaves, int wrt,
                               double eps, mt_tensor **out, mt_diag *d)
{
    *out = NULL;
    if (!g->has_outputs || wrt < 0 || wrt >= g->nnodes || !leaves[wrt])
        return mt_diag_set(d, MT_ERR_ARG, "gradcheck: no leaf %d or no output", wrt);
    const mt_type *yt = mt_graph_node_type(g, g->outputs[0]);
    const mt_type *xt = mt_graph_node_type(g, wrt);
    if (yt->dtype != MT_DTYPE_F64 || xt->dtype != MT_DTYPE_F64 || mt_type_numel(yt) != 1)
        return mt_diag_set(d, MT_ERR_TYPE,
                           "gradcheck: needs an f64 graph whose first output has one element");
    const mt_tensor **nudged = mt_calloc((size_t)g->nnodes, sizeof *nudged);
    mt_tensor *x = mt_tensor_clone(leaves[wrt]);
    mt_tensor *grad = mt_tensor_new(*xt);
    if (!nudged || !x || !grad) {
        mt_free(nudged);
        mt_tensor_free(x);
        mt_tensor_free(grad);
        return mt_diag_set(d, MT_ERR_NOMEM, "out of memory");
    }
    memcpy(nudged, leaves, (size_t)g->nnodes * sizeof *nudged);
    nudged[wrt] = x;
    double *xv = x->data, *gv = grad->data;
    mt_status st = MT_OK;
    for (int64_t i = 0; i < mt_type_numel(xt) && st == MT_OK; i++) {
        double x0 = xv[i], plus = 0, minus = 0;
        xv[i] = x0 + eps;
        st = first_output(g, nudged, &plus, d);
        xv[i] = x0 - eps;
        if (st == MT_OK)
            st = first_output(g, nudged, &minus, d);
        xv[i] = x0;
        gv[i] = (plus - minus) / (2 * eps);
    }
    mt_free(nudged);
    mt_tensor_free(x);
    if (st != MT_OK) {
        mt_tensor_free(grad);
        return st;
    }
    *out = grad;
    return MT_OK;
}

int mt_gradcheck_close(double a, double n, double tol)
{
    double scale = fabs(n) > 1 ? fabs(n) : 1;
    return fabs(a - n) <= tol * scale; /* false for nan, as it should be */
}

static void compare_tensors(const mt_tensor *analytic, const mt_tensor *numeric, double tol,
                            mt_gradcheck_result *r)
{
    r->max_abs = r->max_rel = 0;
    r->ok = 1;
    int64_t n = mt_type_numel(&numeric->type);
    for (int64_t i = 0; i < n; i++) {
        double a = read_f64(analytic, i), v = read_f64(numeric, i);
        double err = fabs(a - v), big = fmax(fabs(a), fabs(v));
        double rel = big > 0 ? err / big : (err == 0 ? 0 : INFINITY);
        if (!(err <= r->max_abs))
            r->max_abs = err; /* nan propagates */
        if (!(rel <= r->max_rel))
            r->max_rel = rel;
        if (!mt_gradcheck_close(a, v, tol))
            r->ok = 0;
    }
}

mt_status mt_gradcheck_compare(const mt_graph *g, const mt_tensor *const *leaves, const int *wrt,
                               int nwrt, double eps, double tol, mt_gradcheck_result *res,
                               mt_diag *d)
{
    mt_graph *gg = NULL;
    mt_status st = mt_pass_grad(g, wrt, nwrt, &gg, d);
    if (st != MT_OK)
        return st;
    /* The gradient graph orders its leaves first: match them to g's by name. */
    const mt_tensor **gl = mt_calloc((size_t)gg->nnodes, sizeof *gl);
    mt_tensor **outs = mt_calloc((size_t)gg->noutputs, sizeof *outs);
    if (!gl || !outs) {
        st = mt_diag_set(d, MT_ERR_NOMEM, "out of memory");
        goto done;
    }
    for (int id = 0; id < g->nnodes; id++)
        if (is_leaf(mt_graph_node_op(g, id)))
            gl[mt_graph_find(gg, mt_graph_node_name(g, id))] = leaves[id];
    st = mt_interp_run(gg, gl, outs, d);
    /* Neither side means anything where the loss is inf or nan: every param would look wrong,
     * and the one blamed would be an accident of the order. Name the cause instead. */
    double loss = st == MT_OK ? ((const double *)outs[0]->data)[0] : 0;
    if (st == MT_OK && !isfinite(loss))
        st = mt_diag_set(d, MT_ERR_ARG,
                         "the loss %%%s is not finite at the given inputs (it is %s): gradients "
                         "cannot be checked there",
                         mt_graph_node_name(g, g->outputs[0]),
                         isnan(loss) ? "nan"
                         : loss > 0  ? "inf"
                                     : "-inf");
    for (int i = 0; i < nwrt && st == MT_OK; i++) {
        mt_tensor *num = NULL;
        st = mt_gradcheck_numeric(g, leaves, wrt[i], eps, &num, d);
        if (st != MT_OK)
            break;
        res[i].wrt = wrt[i];
        compare_tensors(outs[g->noutputs + i], num, tol, &res[i]);
        mt_tensor_free(num);
    }
done:
    if (outs)
        for (int i = 0; i < gg->noutputs; i++)
            mt_tensor_free(outs[i]);
    mt_free(outs);
    mt_free(gl);
    mt_graph_free(gg);
    return st;
}

/* ---- one rule at a time ---------------------------------------------------------------- */

/* L = sum(op(x0, x1, ...) * r) for node n: its gradient with respect to xk is the node's
 * vector-Jacobian product for operand k applied to r. Leaves: x0.. as params, then r. */
static mt_graph *one_node_graph(const mt_graph *g, const mt_node *n, mt_diag *d)
{
    mt_graph *h = mt_graph_new("vjp");
    if (!h) {
        mt_diag_set(d, MT_ERR_NOMEM, "out of memory");
        return NULL;
    }
    int in[64];
    for (int k = 0; k < n->nin; k++) {
        char name[16];
        snprintf(name, sizeof name, "x%d", k);
        in[k] = mt_graph_add_leaf(h, MT_OP_PARAM, name, mt_graph_node(g, n->in[k])->type, NULL, 0,
                                  0, d);
    }
    int r = mt_graph_add_leaf(h, MT_OP_INPUT, "r", n->type, NULL, 0, 0, d);
    int y = mt_graph_add(h, n->op, in, n->nin, n->attrs, "y", NULL, NULL, 0, 0, d);
    int yr[2] = {y, r};
    int p =
        y >= 0 && r >= 0 ? mt_graph_add(h, MT_OP_MUL, yr, 2, NULL, "yr", NULL, NULL, 0, 0, d) : -1;
    int l = p >= 0 ? mt_graph_add(h, MT_OP_SUM, &p, 1, NULL, "L", NULL, NULL, 0, 0, d) : -1;
    if (l < 0 || mt_graph_set_outputs(h, &l, 1, d) != MT_OK) {
        mt_graph_free(h);
        return NULL;
    }
    return h;
}

static int all_finite(const mt_tensor *t)
{
    const double *x = t->data;
    for (int64_t i = 0; i < mt_type_numel(&t->type); i++)
        if (!isfinite(x[i]))
            return 0;
    return 1;
}

static mt_status check_node(const mt_graph *g, int id, mt_tensor *const *values, uint64_t *state,
                            double eps, double tol, mt_gradcheck_node *bad, mt_diag *d)
{
    const mt_node *n = mt_graph_node(g, id);
    int wrt[64], nwrt = 0;
    for (int k = 0; k < n->nin; k++)
        if (mt_ad_differentiable(n->op, k))
            wrt[nwrt++] = k; /* param xk has id k in the one-node graph */
    if (nwrt == 0 || !all_finite(values[id]))
        return MT_OK; /* where a value is inf or nan, neither side of the check means anything */
    mt_graph *h = one_node_graph(g, n, d);
    if (!h)
        return d->status;
    const mt_tensor *leaves[66] = {0};
    mt_tensor *r = mt_tensor_new(n->type);
    mt_gradcheck_result res[64];
    mt_status st = MT_OK;
    if (!r) {
        st = mt_diag_set(d, MT_ERR_NOMEM, "out of memory");
        goto done;
    }
    mt_gradcheck_fill(r, state, -1.0, 1.0);
    for (int k = 0; k < n->nin; k++)
        leaves[k] = values[n->in[k]];
    leaves[n->nin] = r;
    st = mt_gradcheck_compare(h, leaves, wrt, nwrt, eps, tol, res, d);
    for (int i = 0; i < nwrt && st == MT_OK; i++) {
        if (res[i].ok)
            continue;
        bad->node = id;
        bad->operand = wrt[i];
        bad->max_abs = res[i].max_abs;
        bad->max_rel = res[i].max_rel;
        break;
    }
done:
    mt_tensor_free(r);
    mt_graph_free(h);
    return st;
}

mt_status mt_gradcheck_nodes(const mt_graph *g, const mt_tensor *const *leaves, uint64_t seed,
                             double eps, double tol, mt_gradcheck_node *bad, mt_diag *d)
{
    bad->node = bad->operand = -1;
    bad->max_abs = bad->max_rel = 0;
    mt_tensor **values = mt_calloc((size_t)g->nnodes, sizeof *values);
    if (!values)
        return mt_diag_set(d, MT_ERR_NOMEM, "out of memory");
    mt_status st = mt_interp_eval(g, leaves, values, d);
    uint64_t state = seed;
    for (int id = 0; id < g->nnodes && st == MT_OK && bad->node < 0; id++)
        st = check_node(g, id, values, &state, eps, tol, bad, d);
    for (int id = 0; id < g->nnodes; id++)
        mt_tensor_free(values[id]);
    mt_free(values);
    return st;
}
