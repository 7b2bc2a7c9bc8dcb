/* bind.c - feeding a graph by name and collecting its outputs by name. */
#include "runtime/bind.h"

mt_status mt_bind_leaves(const mt_graph *g, const mt_tensor_map *m, const char *source,
                         const mt_tensor **leaves, mt_diag *d)
{
    for (int i = 0; i < g->nnodes; i++) {
        const mt_node *n = &g->nodes[i];
        leaves[i] = NULL;
        if (!mt_op_is(n->op, MT_F_LEAF))
            continue;
        const mt_tensor *t = mt_tensor_map_get(m, n->name);
        if (!t && n->op == MT_OP_STATE) /* state nobody fed starts at zero */
            continue;
        if (!t)
            return mt_diag_set_at(d, MT_ERR_ARG, source, 0, 0, "missing tensor '%s' for %s %%%s",
                                  n->name, mt_op_name(n->op), n->name);
        if (!mt_type_equal(&t->type, &n->type)) {
            char a[MT_TYPE_STR_MAX], b[MT_TYPE_STR_MAX];
            return mt_diag_set_at(
                d, MT_ERR_TYPE, source, 0, 0, "tensor '%s' is %s but %%%s is declared %s", n->name,
                mt_type_str(&t->type, a, sizeof a), n->name, mt_type_str(&n->type, b, sizeof b));
        }
        leaves[i] = t;
    }
    return MT_OK;
}

mt_status mt_outputs_to_map(const mt_graph *g, mt_tensor **outputs, mt_tensor_map **out, mt_diag *d)
{
    *out = NULL;
    mt_tensor_map *m = mt_tensor_map_new();
    mt_status st = m ? MT_OK : MT_ERR_NOMEM;
    for (int i = 0; i < g->noutputs; i++) {
        mt_tensor *t = outputs[i];
        outputs[i] = NULL;
        if (st != MT_OK || mt_tensor_map_get(m, g->nodes[g->outputs[i]].name)) {
            mt_tensor_free(t);
            continue;
        }
        st = mt_tensor_map_put(m, g->nodes[g->outputs[i]].name, t);
    }
    if (st != MT_OK) {
        mt_tensor_map_free(m);
        return mt_diag_set(d, st, "out of memory collecting outputs");
    }
    *out = m;
    return MT_OK;
}
