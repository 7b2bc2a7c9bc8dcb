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
    mt_graph *dst = mt_graph_new(src->name);
    int *map = mt_malloc(((size_t)src->nnodes + 1) * sizeof *map);
    mt_status st = MT_OK;
    if (!dst || !map) {
        st = mt_diag_set(d, MT_ERR_NOMEM, "out of memory");
        goto done;
    }
    for (int i = 0; i < src->nnodes; i++)
        map[i] = -1;
    st = fn(src, dst, map, d);
    if (st == MT_OK)
        for (int i = 0; i < src->noutputs; i++)
            if (map[src->outputs[i]] < 0)
                st = mt_diag_set(d, MT_ERR_INTERNAL, "output '%%%s' was dropped",
                                 src->nodes[src->outputs[i]].name);
    if (st == MT_OK)
        st = mt_rewrite_outputs(dst, src, map, d);
done:
    mt_free(map);
    if (st != MT_OK) {
        mt_graph_free(dst);
        dst = NULL;
    }
    *out = dst;
    mt_diag_fini(&local);
    return st;
}

int mt_rewrite_add(mt_graph *dst, const mt_node *orig, mt_op op, const int *in, int nin,
                   const mt_attrs *attrs, const mt_type *declared, mt_diag *d)
{
    const char *name = mt_graph_find(dst, orig->name) >= 0 ? NULL : orig->name;
    return mt_graph_add(dst, op, in, nin, attrs, name, declared, NULL, orig->line, orig->col, d);
}

/* `%name = reshape %id shape=<its own shape>`: the cheapest node that is a copy. */
static int add_copy(mt_graph *dst, int id, const char *name, mt_diag *d)
{
    const mt_type *t = &dst->nodes[id].type;
    mt_attrs a;
    mt_attrs_init(&a);
    a.shape.n = t->rank;
    for (int i = 0; i < t->rank; i++)
        a.shape.v[i] = t->dims[i];
    return mt_graph_add(dst, MT_OP_RESHAPE, &id, 1, &a, name, NULL, NULL, 0, 0, d);
}

mt_status mt_rewrite_outputs(mt_graph *dst, const mt_graph *src, const int *map, mt_diag *d)
{
    int n = src->noutputs;
    if (!src->has_outputs)
        return MT_OK; /* a graph still being built: nothing to keep */
    int *outs = mt_calloc((size_t)n + 1, sizeof *outs);
    /* claimed[v]: dst value v already stands for an output under its current name. */
    char *claimed = mt_calloc((size_t)dst->nnodes + 1, 1);
    mt_status st = MT_OK;
    if (!outs || !claimed) {
        st = mt_diag_set(d, MT_ERR_NOMEM, "out of memory");
        goto done;
    }
    /* First the outputs that kept their names, so that no other output takes them over. */
    for (int i = 0; i < n; i++) {
        int v = map[src->outputs[i]];
        if (strcmp(dst->nodes[v].name, src->nodes[src->outputs[i]].name) == 0)
            claimed[v] = 1;
    }
    for (int i = 0; i < n; i++) {
        int o = src->outputs[i], v = map[o];
        const char *name = src->nodes[o].name;
        outs[i] = -1;
        for (int j = 0; j < i; j++) /* `output %y, %y`: one value, one name */
            if (src->outputs[j] == o)
                outs[i] = outs[j];
        if (outs[i] >= 0)
            continue;
        if (strcmp(dst->nodes[v].name, name) == 0) {
            outs[i] = v;
            continue;
        }
        int taken = mt_graph_find(dst, name);
        if (taken >= 0) {
            /* Every pass names a replacement after the node it replaces, so the only value
             * that can hold an output's name is that output's own: a pass broke this rule. */
            st = mt_diag_set(d, MT_ERR_INTERNAL,
                             "output '%%%s' lost its name to another value in graph '%s'", name,
                             dst->name);
            goto done;
        }
        mt_op op = dst->nodes[v].op;
        if (op != MT_OP_INPUT && op != MT_OP_PARAM && !claimed[v]) {
            st = mt_graph_rename(dst, v, name, d);
            if (st != MT_OK)
                goto done;
            claimed[v] = 1;
            outs[i] = v;
        } else {
            outs[i] = add_copy(dst, v, name, d);
            if (outs[i] < 0) {
                st = d && d->status != MT_OK ? d->status : MT_ERR_INTERNAL;
                goto done;
            }
        }
    }
    st = mt_graph_set_outputs(dst, outs, n, d);
done:
    mt_free(outs);
    mt_free(claimed);
    return st;
}

int mt_graph_same(const mt_graph *a, const mt_graph *b)
{
    if (a->nnodes != b->nnodes || a->noutputs != b->noutputs || strcmp(a->name, b->name) != 0)
        return 0;
    for (int i = 0; i < a->nnodes; i++) {
        const mt_node *x = &a->nodes[i], *y = &b->nodes[i];
        if (x->op != y->op || x->nin != y->nin || strcmp(x->name, y->name) != 0 ||
            !mt_type_equal(&x->type, &y->type) || !mt_attrs_equal(&x->attrs, &y->attrs))
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
