/* verify.c - the graph verifier: every invariant a well-formed graph keeps.
 *
 * Run after every pass (passes/pipeline.c), so a pass that breaks the IR is named at once
 * rather than found later as a wrong number. It re-derives each node's type with the same
 * inference the builder uses and compares.
 */
#include <string.h>

#include "ir/graph.h"

/* Each update: a param or state target updated once, a value of its type, neither an output. */
static mt_status verify_updates(const mt_graph *g, mt_diag *d)
{
    for (int i = 0; i < g->nupdates; i++) {
        const mt_update_line *u = &g->updates[i];
        if (u->target < 0 || u->target >= g->nnodes || u->value < 0 || u->value >= g->nnodes)
            return mt_diag_set(d, MT_ERR_INTERNAL, "update %d refers to a node that is not there",
                               i);
        const mt_node *t = &g->nodes[u->target], *v = &g->nodes[u->value];
        if (t->op != MT_OP_PARAM && t->op != MT_OP_STATE)
            return mt_diag_set(d, MT_ERR_INTERNAL, "update of %%%s: not a param or state", t->name);
        if (!mt_type_equal(&t->type, &v->type))
            return mt_diag_set(d, MT_ERR_INTERNAL, "update of %%%s: %%%s has another type", t->name,
                               v->name);
        if (mt_graph_update_of(g, u->target) != u)
            return mt_diag_set(d, MT_ERR_INTERNAL, "%%%s has two updates", t->name);
        if (mt_graph_is_output(g, u->target))
            return mt_diag_set(d, MT_ERR_INTERNAL, "%%%s is both updated and an output", t->name);
    }
    return MT_OK;
}

mt_status mt_graph_verify(const mt_graph *g, mt_diag *d)
{
    if (!g->name || !g->name[0])
        return mt_diag_set(d, MT_ERR_INTERNAL, "graph has no name");
    for (int i = 0; i < g->nnodes; i++) {
        const mt_node *n = &g->nodes[i];
        if ((int)n->op < 0 || n->op >= MT_OP_COUNT)
            return mt_diag_set(d, MT_ERR_INTERNAL, "node %d: bad op %d", i, (int)n->op);
        const char *op = mt_op_name(n->op);
        if (!n->name || !n->name[0] || mt_graph_find(g, n->name) != i)
            return mt_diag_set(d, MT_ERR_INTERNAL, "node %d (%s): name missing or not unique", i,
                               op);
        const mt_op_info *info = mt_op_get(n->op);
        if (info->flags & MT_F_LEAF) {
            if (n->nin != 0)
                return mt_diag_set(d, MT_ERR_INTERNAL, "%%%s: a %s has no operands", n->name, op);
            mt_type t = n->type;
            if (t.rank < 0 || t.rank > MT_MAX_RANK || mt_type_numel(&t) < 0)
                return mt_diag_set(d, MT_ERR_INTERNAL, "%%%s: invalid type", n->name);
            continue;
        }
        if (!mt_op_arity_ok(info, n->nin))
            return mt_diag_set(d, MT_ERR_INTERNAL, "%%%s: %s has %d operands", n->name, op, n->nin);
        const mt_type *types[64];
        for (int j = 0; j < n->nin; j++) {
            if (n->in[j] < 0 || n->in[j] >= i)
                return mt_diag_set(d, MT_ERR_INTERNAL,
                                   "%%%s: operand %d refers to node %d, not defined before it",
                                   n->name, j, n->in[j]);
            types[j] = &g->nodes[n->in[j]].type;
        }
        mt_attrs a = *n->attrs;
        mt_type t;
        char msg[MT_DIAG_MSG];
        const mt_type *declared = (info->flags & MT_F_SOURCE) ? &n->type : NULL;
        mt_status st = mt_infer_type(n->op, types, n->nin, &a, declared, &t, msg, sizeof msg);
        if (st != MT_OK)
            return mt_diag_set(d, MT_ERR_INTERNAL, "%%%s: %s", n->name, msg);
        if (!mt_type_equal(&t, &n->type)) {
            char s1[MT_TYPE_STR_MAX], s2[MT_TYPE_STR_MAX];
            return mt_diag_set(d, MT_ERR_INTERNAL, "%%%s: %s has type %s but infers %s", n->name,
                               op, mt_type_str(&n->type, s1, sizeof s1),
                               mt_type_str(&t, s2, sizeof s2));
        }
        if (!mt_attrs_equal(&a, n->attrs))
            return mt_diag_set(d, MT_ERR_INTERNAL, "%%%s: %s attributes are not canonical", n->name,
                               op);
    }
    if (!g->has_outputs || g->noutputs < 1)
        return mt_diag_set(d, MT_ERR_INTERNAL, "graph has no outputs");
    for (int i = 0; i < g->noutputs; i++)
        if (g->outputs[i] < 0 || g->outputs[i] >= g->nnodes)
            return mt_diag_set(d, MT_ERR_INTERNAL, "output %d refers to node %d", i, g->outputs[i]);
    return verify_updates(g, d);
}
