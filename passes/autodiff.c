/* autodiff.c - reverse-mode automatic differentiation as a graph-to-graph pass (`mtc grad`).
 *
 * Requires: a well-formed graph with at least one output; its first output holds exactly one
 * element (rank 0 or all dims 1); every `wrt` id names an input or param, each at most once.
 *
 * Guarantees: a new graph that is plain MTIR (SPEC section 2 ops only) with
 *  - the same inputs and params, same names, in their original order, before every other node;
 *  - a copy of every forward node, with its name;
 *  - the backward nodes, each with a provenance note "d/d%a of %h = op" naming the forward
 *    operand and node it differentiates (printed by mtc dump --stage grad --provenance);
 *  - outputs: the original outputs, then for each wrt value w the gradient of the first output
 *    with respect to w, named grad.W (grad2.W, grad3.W, ... when that name is already taken,
 *    as when a gradient graph is differentiated again).
 * Because the backward nodes use only SPEC ops, each of which has a rule, the result can be
 * differentiated again (second order).
 *
 * How: the node array is already topological, so one sweep in reverse id order visits every
 * node after all of its users. Adjoints start with `const 1` at the first output and are summed
 * with `add` where a value has several users. Only nodes on a path from a wrt value to the output
 * get adjoints (the rest of the backward graph would be dead code); a wrt value with no such path
 * gets `const value=0`. The per-op vector-Jacobian rules live in autodiff_rules.c.
 */
#include <stdio.h>
#include <string.h>

#include "ir/alloc.h"
#include "passes/autodiff.h"
#include "passes/pass.h"

static int is_leaf(const mt_node *n) { return mt_op_is(n->op, MT_F_LEAF); }

static mt_status check_request(const mt_graph *g, const int *wrt, int nwrt, mt_diag *d)
{
    if (!g->has_outputs || g->noutputs < 1)
        return mt_diag_set(d, MT_ERR_ARG, "grad: the graph has no output");
    /* A step graph is one training step already: its gradient would mix the step's outputs
     * with the updates it writes, which no caller means. */
    if (g->nupdates > 0)
        return mt_diag_set_at(d, MT_ERR_ARG, NULL, g->updates[0].line, g->updates[0].col,
                              "grad: '%s' is a step graph (it has update lines); differentiate "
                              "the loss graph it was made from",
                              g->name);
    const mt_node *y = mt_graph_node(g, g->outputs[0]);
    if (mt_type_numel(&y->type) != 1) {
        char t[MT_TYPE_STR_MAX];
        return mt_diag_set_at(d, MT_ERR_SHAPE, NULL, y->line, y->col,
                              "grad: the first output %%%s has type %s; it must hold exactly one "
                              "element (reduce it with sum or mean)",
                              y->name, mt_type_str(&y->type, t, sizeof t));
    }
    for (int i = 0; i < nwrt; i++) {
        if (wrt[i] < 0 || wrt[i] >= g->nnodes)
            return mt_diag_set(d, MT_ERR_ARG, "grad: wrt id %d is not a value", wrt[i]);
        const mt_node *w = mt_graph_node(g, wrt[i]);
        if (!is_leaf(w))
            return mt_diag_set_at(d, MT_ERR_ARG, NULL, w->line, w->col,
                                  "grad: %%%s is not an input, param or state", w->name);
        for (int j = 0; j < i; j++)
            if (wrt[j] == wrt[i])
                return mt_diag_set(d, MT_ERR_ARG, "grad: %%%s is listed twice", w->name);
    }
    return MT_OK;
}

/* active[id]: the node lies on a path from a wrt value to the first output along edges that
 * carry gradient. `reach` is scratch space of g->nnodes bytes. */
static void find_active(const mt_graph *g, const int *wrt, int nwrt, char *active, char *reach)
{
    char *dep = active; /* first: depends on a wrt value */
    memset(dep, 0, (size_t)g->nnodes);
    memset(reach, 0, (size_t)g->nnodes);
    for (int i = 0; i < nwrt; i++)
        dep[wrt[i]] = 1;
    for (int id = 0; id < g->nnodes; id++) {
        const mt_node *n = mt_graph_node(g, id);
        for (int k = 0; k < n->nin && !dep[id]; k++)
            if (mt_ad_differentiable(n->op, k) && dep[n->in[k]])
                dep[id] = 1;
    }
    /* Walk back from the output through nodes that depend on a wrt value; every user of a node
     * has a larger id, so one reverse pass suffices. */
    reach[g->outputs[0]] = 1;
    for (int id = g->nnodes - 1; id >= 0; id--) {
        if (!reach[id] || !dep[id])
            continue;
        const mt_node *n = mt_graph_node(g, id);
        for (int k = 0; k < n->nin; k++)
            if (mt_ad_differentiable(n->op, k))
                reach[n->in[k]] = 1;
    }
    for (int id = 0; id < g->nnodes; id++)
        active[id] = (char)(dep[id] && reach[id]);
}

/* Copies the leaves first, in order, then every other node, recording src id -> new id. */
static mt_status copy_forward(const mt_graph *src, mt_graph *g, int *map, mt_diag *d)
{
    for (int pass = 0; pass < 2; pass++)
        for (int id = 0; id < src->nnodes; id++) {
            if (is_leaf(mt_graph_node(src, id)) != (pass == 0))
                continue;
            map[id] = mt_graph_copy_node(g, src, id, map, d);
            if (map[id] < 0)
                return d->status;
        }
    return MT_OK;
}

/* adj[x] += v */
static int accumulate(mt_ad *ad, int *adj, int x, int v)
{
    if (v < 0)
        return -1;
    if (adj[x] < 0) {
        adj[x] = v;
        return v;
    }
    snprintf(ad->note, sizeof ad->note, "d/d%%%s: sum over its users",
             mt_graph_node_name(ad->g, ad->map[x]));
    int in[2] = {adj[x], v};
    adj[x] = mt_ad_emit(ad, MT_OP_ADD, in, 2, NULL);
    return adj[x];
}

static mt_status sweep(mt_ad *ad, const char *active, int *adj)
{
    const mt_graph *src = ad->src;
    int out = src->outputs[0];
    const char *yname = mt_graph_node_name(ad->g, ad->map[out]);
    if (!active[out])
        return MT_OK;
    snprintf(ad->note, sizeof ad->note, "d%%%s/d%%%s = 1 (seed)", yname, yname);
    adj[out] = mt_ad_const(ad, 1.0, &mt_graph_node(src, out)->type);
    if (adj[out] < 0)
        return ad->d->status;
    for (int id = out; id >= 0; id--) {
        const mt_node *n = mt_graph_node(src, id);
        if (adj[id] < 0 || is_leaf(n))
            continue;
        for (int k = 0; k < n->nin; k++) {
            int x = n->in[k];
            if (!mt_ad_differentiable(n->op, k) || !active[x])
                continue;
            snprintf(ad->note, sizeof ad->note, "d/d%%%s of %%%s = %s",
                     mt_graph_node_name(ad->g, ad->map[x]), mt_graph_node_name(ad->g, ad->map[id]),
                     mt_op_name(n->op));
            if (accumulate(ad, adj, x, mt_ad_vjp(ad, id, k, adj[id])) < 0)
                return ad->d->status;
        }
    }
    return MT_OK;
}

/* "grad.W", or grad2.W, grad3.W, ... when the name is taken. */
static void grad_name(const mt_graph *g, const char *w, char *buf, size_t size)
{
    snprintf(buf, size, "grad.%s", w);
    for (int i = 2; mt_graph_find(g, buf) >= 0; i++)
        snprintf(buf, size, "grad%d.%s", i, w);
}

/* Adds the gradient outputs after the original ones. */
static mt_status add_outputs(mt_ad *ad, const int *wrt, int nwrt, const int *adj)
{
    const mt_graph *src = ad->src;
    mt_graph *g = ad->g;
    int nout = src->noutputs + nwrt;
    int *outs = mt_calloc((size_t)nout, sizeof *outs);
    char *named = mt_calloc((size_t)g->nnodes + (size_t)nwrt + 1, 1);
    if (!outs || !named) {
        mt_free(outs);
        mt_free(named);
        return mt_diag_set(ad->d, MT_ERR_NOMEM, "out of memory");
    }
    for (int i = 0; i < src->noutputs; i++)
        outs[i] = ad->map[src->outputs[i]];
    for (int id = 0; id < src->nnodes; id++) /* forward values keep their own names */
        named[ad->map[id]] = 1;
    const char *yname = mt_graph_node_name(g, ad->map[src->outputs[0]]);
    mt_status st = MT_OK;
    for (int i = 0; i < nwrt && st == MT_OK; i++) {
        const char *wname = mt_graph_node_name(g, ad->map[wrt[i]]);
        char name[300];
        grad_name(g, wname, name, sizeof name);
        int v = adj[wrt[i]];
        if (v < 0) {
            snprintf(ad->note, sizeof ad->note, "d%%%s/d%%%s = 0: no path from %%%s to %%%s", yname,
                     wname, wname, yname);
            mt_attrs a;
            mt_attrs_init(&a);
            a.value = 0.0;
            v = mt_graph_add(g, MT_OP_CONST, NULL, 0, &a, name, &mt_graph_node(src, wrt[i])->type,
                             NULL, 0, 0, ad->d);
            if (v >= 0 && mt_graph_set_note(g, v, ad->note) != MT_OK)
                v = -1, mt_diag_set(ad->d, MT_ERR_NOMEM, "out of memory");
        } else if (named[v]) {
            /* One node is the gradient of two values (add %a, %b): each output needs its own
             * name, so the second gets an identity copy. */
            snprintf(ad->note, sizeof ad->note, "d%%%s/d%%%s (same value as %%%s)", yname, wname,
                     mt_graph_node_name(g, v));
            mt_attrs a;
            mt_attrs_init(&a);
            const mt_type *t = mt_graph_node_type(g, v);
            a.shape.n = t->rank;
            for (int j = 0; j < t->rank; j++)
                a.shape.v[j] = t->dims[j];
            v = mt_ad_emit(ad, MT_OP_RESHAPE, &v, 1, &a);
            if (v >= 0)
                st = mt_graph_rename(g, v, name, ad->d);
        } else {
            st = mt_graph_rename(g, v, name, ad->d);
        }
        if (v < 0)
            st = ad->d->status;
        else
            named[v] = 1;
        outs[src->noutputs + i] = v;
    }
    if (st == MT_OK)
        st = mt_graph_set_outputs(g, outs, nout, ad->d);
    mt_free(outs);
    mt_free(named);
    return st;
}

mt_status mt_pass_grad(const mt_graph *src, const int *wrt, int nwrt, mt_graph **out, mt_diag *d)
{
    *out = NULL;
    mt_status st = check_request(src, wrt, nwrt, d);
    if (st != MT_OK)
        return st;
    int n = src->nnodes;
    int *params = NULL;
    if (!wrt || nwrt == 0) {
        params = mt_calloc((size_t)n + 1, sizeof *params);
        if (!params)
            return mt_diag_set(d, MT_ERR_NOMEM, "out of memory");
        nwrt = 0;
        for (int id = 0; id < n; id++)
            if (mt_graph_node_op(src, id) == MT_OP_PARAM)
                params[nwrt++] = id;
        wrt = params;
    }
    mt_graph *g = mt_graph_new(mt_graph_name(src));
    int *map = mt_calloc((size_t)n, sizeof *map);
    int *adj = mt_malloc((size_t)n * sizeof *adj);
    char *active = mt_calloc((size_t)n, 1);
    char *reach = mt_calloc((size_t)n, 1);
    if (!g || !map || !adj || !active || !reach) {
        st = mt_diag_set(d, MT_ERR_NOMEM, "out of memory");
        goto done;
    }
    for (int id = 0; id < n; id++)
        adj[id] = -1;
    mt_ad ad = {.src = src, .g = g, .map = map, .d = d, .note = ""};
    st = copy_forward(src, g, map, d);
    if (st != MT_OK)
        goto done;
    find_active(src, wrt, nwrt, active, reach);
    st = sweep(&ad, active, adj);
    if (st == MT_OK)
        st = add_outputs(&ad, wrt, nwrt, adj);
done:
    mt_free(params);
    mt_free(map);
    mt_free(adj);
    mt_free(active);
    mt_free(reach);
    if (st != MT_OK) {
        mt_graph_free(g);
        return st;
    }
    *out = g;
    return MT_OK;
}
