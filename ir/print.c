/* print.c - the canonical MTIR printer (SPEC section 1).
 *
 * Kept in lockstep with parse.c: whatever this prints, the parser reads back to an equal
 * graph, and printing that graph again gives the same bytes. Canonical choices: two-space
 * indent, every result type printed, attributes in one fixed order, floats in the shortest
 * form that reads back to the same double (to the same float for an f32 node's value, which
 * shape inference keeps rounded to f32: `0.05`, not `0.05000000074505806`), then the update
 * lines and the output line.
 */
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ir/alloc.h"
#include "ir/graph.h"

/* Shortest %g text that reads back to exactly v: through strtof when the value is an f32 one
 * (f32), else through strtod. */
static void print_float(mt_buf *b, double v, int f32)
{
    if (isnan(v)) {
        mt_buf_puts(b, "nan");
        return;
    }
    if (isinf(v)) {
        mt_buf_puts(b, v < 0 ? "-inf" : "inf");
        return;
    }
    char s[40];
    if (v == floor(v) && fabs(v) < 1e15) {
        /* Whole numbers read best without an exponent: 20, not 2e+01. */
        snprintf(s, sizeof s, "%.0f", v);
        mt_buf_puts(b, s);
        return;
    }
    for (int prec = 1; prec <= 17; prec++) {
        snprintf(s, sizeof s, "%.*g", prec, v);
        if (f32 ? (double)strtof(s, NULL) == v : strtod(s, NULL) == v)
            break;
    }
    mt_buf_puts(b, s);
}

static void print_list(mt_buf *b, const char *key, const int64_t *v, int n)
{
    mt_buf_printf(b, " %s=[", key);
    for (int i = 0; i < n; i++)
        mt_buf_printf(b, "%s%lld", i ? "," : "", (long long)v[i]);
    mt_buf_puts(b, "]");
}

static void print_type(mt_buf *b, const mt_type *t)
{
    char s[MT_TYPE_STR_MAX];
    mt_buf_puts(b, mt_type_str(t, s, sizeof s));
}

static void print_attrs(mt_buf *b, const mt_node *n)
{
    unsigned f = mt_op_get(n->op)->flags;
    const mt_attrs *a = n->attrs;
    if ((f & MT_A_DIM) && a->dim != MT_DIM_ALL)
        mt_buf_printf(b, " dim=%lld", (long long)a->dim);
    if (f & MT_A_SHAPE)
        print_list(b, "shape", a->shape.v, a->shape.n);
    if (f & MT_A_PERM)
        print_list(b, "perm", a->perm.v, a->perm.n);
    if (f & MT_A_START)
        print_list(b, "start", a->start.v, a->start.n);
    if (f & MT_A_END)
        print_list(b, "end", a->end.v, a->end.n);
    if (f & MT_A_PADS)
        print_list(b, "pads", a->pads.v, a->pads.n);
    if (n->op == MT_OP_CONV1D) {
        mt_buf_printf(b, " stride=%lld padding=%lld", (long long)a->stride[0],
                      (long long)a->padding[0]);
    } else {
        if (f & MT_A_STRIDE)
            print_list(b, "stride", a->stride, 2);
        if (f & MT_A_PADDING)
            print_list(b, "padding", a->padding, 2);
    }
    if (f & MT_A_KERNEL)
        print_list(b, "kernel", a->kernel, 2);
    if (f & MT_A_VALUE) {
        mt_buf_puts(b, " value=");
        int f32 = n->type.dtype == MT_DTYPE_F32 && fabs(a->value) <= FLT_MAX &&
                  (double)(float)a->value == a->value;
        print_float(b, a->value, f32);
    }
    if (f & MT_A_SEED)
        mt_buf_printf(b, " seed=%lld", (long long)a->seed);
    if (f & MT_A_OP)
        mt_buf_printf(b, " op=%s", a->reduce == MT_REDUCE_MEAN ? "mean" : "sum");
}

char *mt_graph_print_ex(const mt_graph *g, unsigned flags)
{
    mt_buf b = {0};
    mt_buf_printf(&b, "mtir 1\ngraph %s {\n", g->name);
    for (int i = 0; i < g->nnodes; i++) {
        const mt_node *n = &g->nodes[i];
        if (mt_op_is(n->op, MT_F_LEAF)) {
            mt_buf_printf(&b, "  %s %%%s : ", mt_op_name(n->op), n->name);
        } else {
            mt_buf_printf(&b, "  %%%s = %s", n->name, mt_op_name(n->op));
            for (int j = 0; j < n->nin; j++)
                mt_buf_printf(&b, "%s %%%s", j ? "," : "", g->nodes[n->in[j]].name);
            print_attrs(&b, n);
            mt_buf_puts(&b, " : ");
        }
        print_type(&b, &n->type);
        if ((flags & MT_PRINT_NOTES) && n->note)
            mt_buf_printf(&b, "  # %s", n->note);
        mt_buf_puts(&b, "\n");
    }
    for (int i = 0; i < g->nupdates; i++)
        mt_buf_printf(&b, "  update %%%s <- %%%s\n", g->nodes[g->updates[i].target].name,
                      g->nodes[g->updates[i].value].name);
    if (g->has_outputs) {
        mt_buf_puts(&b, "  output");
        for (int i = 0; i < g->noutputs; i++)
            mt_buf_printf(&b, "%s %%%s", i ? "," : "", g->nodes[g->outputs[i]].name);
        mt_buf_puts(&b, "\n");
    }
    mt_buf_puts(&b, "}\n");
    return mt_buf_take(&b);
}

char *mt_graph_print(const mt_graph *g) { return mt_graph_print_ex(g, 0); }
