/* dot.c - Graphviz rendering of a graph: one box per value with its op and type. */
#include "ir/alloc.h"
#include "ir/graph.h"

char *mt_graph_dot(const mt_graph *g)
{
    mt_buf b = {0};
    mt_buf_printf(&b,
                  "digraph \"%s\" {\n  rankdir=TB;\n  node [shape=box, fontname=\"monospace\"];\n",
                  g->name);
    for (int i = 0; i < g->nnodes; i++) {
        const mt_node *n = &g->nodes[i];
        char t[MT_TYPE_STR_MAX];
        mt_type_str(&n->type, t, sizeof t);
        const char *style = n->op == MT_OP_INPUT   ? ", style=filled, fillcolor=\"#dbeafe\""
                            : n->op == MT_OP_PARAM ? ", style=filled, fillcolor=\"#fef3c7\""
                            : n->op == MT_OP_STATE ? ", style=filled, fillcolor=\"#e5e7eb\""
                                                   : "";
        mt_buf_printf(&b, "  n%d [label=\"%%%s\\n%s\\n%s\"%s];\n", i, n->name, mt_op_name(n->op), t,
                      style);
        for (int j = 0; j < n->nin; j++)
            mt_buf_printf(&b, "  n%d -> n%d;\n", n->in[j], i);
    }
    /* An update feeds the next run, not this one: a dashed edge back to its target. */
    for (int i = 0; i < g->nupdates; i++)
        mt_buf_printf(&b, "  n%d -> n%d [style=dashed, label=\"update\", constraint=false];\n",
                      g->updates[i].value, g->updates[i].target);
    for (int i = 0; i < g->noutputs; i++) {
        mt_buf_printf(&b, "  out%d [label=\"output %d\", shape=oval];\n", i, i);
        mt_buf_printf(&b, "  n%d -> out%d;\n", g->outputs[i], i);
    }
    mt_buf_puts(&b, "}\n");
    return mt_buf_take(&b);
}
