/* stats.c - the cost model of stats.h: FLOPs, bytes moved and peak memory of a naive run. */
#include "passes/stats.h"

#include <stdio.h>
#include <string.h>

static double value_bytes(const mt_type *t)
{
    return (double)mt_type_numel(t) * (double)mt_dtype_size(t->dtype);
}

static double node_flops(const mt_graph *g, const mt_node *n)
{
    double out = (double)mt_type_numel(&n->type);
    unsigned f = mt_op_get(n->op)->flags;
    if (f & (MT_F_UNARY | MT_F_BINARY | MT_F_TERNARY))
        return out;
    if (f & MT_F_REDUCE)
        return (double)mt_type_numel(&g->nodes[n->in[0]].type);
    const mt_type *x = n->nin > 0 ? &g->nodes[n->in[0]].type : NULL;
    const mt_type *w = n->nin > 1 ? &g->nodes[n->in[1]].type : NULL;
    switch (n->op) {
    case MT_OP_MATMUL: /* numel(out) = batch * M * N */
        return 2.0 * out * (double)x->dims[x->rank - 1];
    case MT_OP_CONV1D: /* numel(out) = N * O * L' */
        return 2.0 * out * (double)w->dims[1] * (double)w->dims[2];
    case MT_OP_CONV2D: /* numel(out) = N * O * H' * W' */
        return 2.0 * out * (double)w->dims[1] * (double)w->dims[2] * (double)w->dims[3];
    case MT_OP_AVGPOOL2D:
    case MT_OP_MAXPOOL2D: return out * (double)n->attrs->kernel[0] * (double)n->attrs->kernel[1];
    default: return 0; /* movement, sources, leaves */
    }
}

mt_status mt_graph_stats(const mt_graph *g, mt_stats *s, mt_diag *d)
{
    memset(s, 0, sizeof *s);
    /* last[v]: the id of v's last user; g->nnodes for outputs (live to the end), -1 if none. */
    int *last = mt_malloc(((size_t)g->nnodes + 1) * sizeof *last);
    if (!last)
        return mt_diag_set(d, MT_ERR_NOMEM, "out of memory");
    for (int i = 0; i < g->nnodes; i++) {
        last[i] = -1;
        for (int k = 0; k < g->nodes[i].nin; k++)
            last[g->nodes[i].in[k]] = i;
    }
    for (int i = 0; i < g->noutputs; i++)
        last[g->outputs[i]] = g->nnodes;
    for (int i = 0; i < g->nupdates; i++)
        last[g->updates[i].value] = g->nnodes;
    s->updates = g->nupdates;

    double live = 0;
    for (int i = 0; i < g->nnodes; i++)
        if (mt_op_is(g->nodes[i].op, MT_F_LEAF))
            live += value_bytes(&g->nodes[i].type);
    s->peak = live;
    for (int i = 0; i < g->nnodes; i++) {
        const mt_node *n = &g->nodes[i];
        if (mt_op_is(n->op, MT_F_LEAF))
            continue;
        double out = value_bytes(&n->type);
        s->nodes++;
        s->flops += node_flops(g, n);
        s->bytes += out;
        for (int k = 0; k < n->nin; k++)
            s->bytes += value_bytes(&g->nodes[n->in[k]].type);
        live += out;
        if (live > s->peak)
            s->peak = live;
        for (int k = 0; k < n->nin; k++) {
            int u = n->in[k];
            if (last[u] != i || mt_op_is(g->nodes[u].op, MT_F_LEAF))
                continue;
            live -= value_bytes(&g->nodes[u].type);
            last[u] = -2; /* freed: `mul %x, %x` frees x once */
        }
        if (last[i] == -1) /* nothing reads it: gone as soon as it is written */
            live -= out;
    }
    mt_free(last);
    return MT_OK;
}

/* Exact below 10000, else three significant digits and a unit. */
static void human(char *buf, size_t size, double v, int binary, const char *unit)
{
    static const char *const dec[] = {"", "k", "M", "G", "T", "P"};
    static const char *const bin[] = {"", "Ki", "Mi", "Gi", "Ti", "Pi"};
    if (v < 10000) {
        snprintf(buf, size, "%.0f %s", v, unit);
        return;
    }
    double step = binary ? 1024.0 : 1000.0;
    int k = 0;
    while (v >= step && k < 5) {
        v /= step;
        k++;
    }
    snprintf(buf, size, "%.2f %s%s", v, binary ? bin[k] : dec[k], unit);
}

void mt_stats_header(mt_buf *b)
{
    mt_buf_printf(b, "%-12s %8s %14s %14s %14s\n", "stage", "nodes", "flops", "bytes", "peak");
}

void mt_stats_row(mt_buf *b, const char *stage, const mt_stats *s)
{
    char f[32], by[32], pk[32];
    human(f, sizeof f, s->flops, 0, "FLOP");
    human(by, sizeof by, s->bytes, 1, "B");
    human(pk, sizeof pk, s->peak, 1, "B");
    mt_buf_printf(b, "%-12s %8d %14s %14s %14s\n", stage, s->nodes, f, by, pk);
}

void mt_stats_updates(mt_buf *b, const mt_stats *s)
{
    if (s->updates == 0)
        return;
    char bytes[32];
    human(bytes, sizeof bytes, s->inplace_bytes, 1, "B");
    mt_buf_printf(b, "updates: %d, %d in place (%s: no copy, no second buffer)\n", s->updates,
                  s->updates_inplace, bytes);
}
