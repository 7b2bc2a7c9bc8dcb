/* rewrite.c - what every rewriting pass shares: new graphs, replacement nodes, output names. */
#include "passes/rewrite.h"

#include <string.h>

#include "ir/alloc.h"

mt_status mt_rewrite_run(const mt_graph *src, mt_rewrite_fn fn, mt_graph **out, mt_diag *d)
{
    mt_diag local;
    mt_diag_init(&local);
    if (!d)
        d = &local;
    *out = NULL;
    /* A step graph's update values must survive every pass under their names, as outputs do:
     * the pass sees them as extra outputs of a view of src, and gets them back as updates. */
    int nkeep = src->noutputs + src->nupdates;
    mt_graph view = *src;
    int *keep = mt_malloc(((size_t)nkeep + 1) * sizeof *keep);
    size_t n = (size_t)src->nnodes + 1;
    mt_rewrite rw = {&view, mt_graph_new(src->name), mt_malloc(n * sizeof(int)),
                     mt_malloc(n * sizeof(int))};
    int *outs = mt_malloc(((size_t)nkeep + 1) * sizeof *outs);
    mt_status st = MT_OK;
    if (!rw.dst || !rw.map || !rw.out || !outs || !keep) {
        st = mt_diag_set(d, MT_ERR_NOMEM, "out of memory");
        goto done;
    }
    for (int i = 0; i < nkeep; i++)
        keep[i] = i < src->noutputs ? src->outputs[i] : src->updates[i - src->noutputs].value;
    view.outputs = keep;
    view.noutputs = nkeep;
    for (int i = 0; i < src->nnodes; i++)
        rw.map[i] = rw.out[i] = -1;
    st = fn(&rw, d);
    for (int i = 0; i < nkeep && st == MT_OK; i++) {
        int o = keep[i];
        outs[i] = rw.out[o] >= 0 ? rw.out[o] : rw.map[o];
        if (outs[i] < 0 || strcmp(rw.dst->nodes[outs[i]].name, src->nodes[o].name) != 0)
            st = mt_diag_set(d, MT_ERR_INTERNAL, "%s '%%%s' lost its %s",
                             i < src->noutputs ? "output" : "update value", src->nodes[o].name,
                             outs[i] < 0 ? "value" : "name");
    }
    if (st == MT_OK && src->has_outputs) /* a graph still being built has none to keep */
        st = mt_graph_set_outputs(rw.dst, outs, src->noutputs, d);
    for (int i = 0; i < src->nupdates && st == MT_OK; i++) {
        const mt_update_line *u = &src->updates[i];
        if (rw.map[u->target] < 0)
            st = mt_diag_set(d, MT_ERR_INTERNAL, "update target '%%%s' was dropped",
                             src->nodes[u->target].name);
        else
            st = mt_graph_add_update(rw.dst, rw.map[u->target], outs[src->noutputs + i], NULL,
                                     u->line, u->col, d);
    }
done:
    mt_free(rw.map);
    mt_free(rw.out);
    mt_free(outs);
    mt_free(keep);
    if (st != MT_OK) {
        mt_graph_free(rw.dst);
        rw.dst = NULL;
    }
    *out = rw.dst;
    mt_diag_fini(&local);
    return st;
}

int mt_rewrite_add(mt_graph *dst, const mt_node *orig, mt_op op, const int *in, int nin,
                   const mt_attrs *attrs, const mt_type *declared, mt_diag *d)
{
    const char *name = mt_graph_find(dst, orig->name) >= 0 ? NULL : orig->name;
    return mt_graph_add(dst, op, in, nin, attrs, name, declared, NULL, orig->line, orig->col, d);
}

static int is_output(const mt_graph *g, int id)
{
    for (int i = 0; i < g->noutputs; i++)
        if (g->outputs[i] == id)
            return 1;
    return 0;
}

mt_status mt_rewrite_alias(mt_rewrite *rw, int id, int v, mt_diag *d)
{
    const mt_graph *src = rw->src;
    mt_graph *dst = rw->dst;
    const mt_node *n = &src->nodes[id];
    rw->map[id] = v;
    if (!is_output(src, id) || strcmp(dst->nodes[v].name, n->name) == 0)
        return MT_OK;
    /* v holds an output already when the src node of its name is an output that maps to it:
     * either v was built for that output or renamed for it. */
    int s = mt_graph_find(src, dst->nodes[v].name);
    int held = s >= 0 && rw->map[s] == v && is_output(src, s);
    if (!held && !mt_op_is(dst->nodes[v].op, MT_F_LEAF)) {
        if (mt_graph_find(dst, n->name) >= 0) /* replacements take their node's name: a bug */
            return mt_diag_set(d, MT_ERR_INTERNAL, "output name '%%%s' is taken in '%s'", n->name,
                               dst->name);
        return mt_graph_rename(dst, v, n->name, d);
    }
    /* A copy of a copy copies the original instead: cse merging two copies and algebraic
     * removing them then lead back to the same graph, so the pipeline stays a fixed point. */
    while (dst->nodes[v].op == MT_OP_RESHAPE &&
           mt_type_equal(&dst->nodes[v].type, &dst->nodes[dst->nodes[v].in[0]].type))
        v = dst->nodes[v].in[0];
    mt_attrs a;
    mt_attrs_init(&a);
    a.shape.n = dst->nodes[v].type.rank;
    for (int i = 0; i < a.shape.n; i++)
        a.shape.v[i] = dst->nodes[v].type.dims[i];
    rw->out[id] =
        mt_graph_add(dst, MT_OP_RESHAPE, &v, 1, &a, n->name, NULL, NULL, n->line, n->col, d);
    return rw->out[id] >= 0 ? MT_OK : mt_rewrite_err(d);
}

int mt_graph_same(const mt_graph *a, const mt_graph *b)
{
    if (a->nnodes != b->nnodes || a->noutputs != b->noutputs || strcmp(a->name, b->name) != 0)
        return 0;
    for (int i = 0; i < a->nnodes; i++) {
        const mt_node *x = &a->nodes[i], *y = &b->nodes[i];
        if (x->op != y->op || x->nin != y->nin || strcmp(x->name, y->name) != 0 ||
            !mt_type_equal(&x->type, &y->type) || !mt_attrs_equal(x->attrs, y->attrs))
            return 0;
        for (int k = 0; k < x->nin; k++)
            if (x->in[k] != y->in[k])
                return 0;
    }
    for (int i = 0; i < a->noutputs; i++)
        if (a->outputs[i] != b->outputs[i])
            return 0;
    return 1;
}
