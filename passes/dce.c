/* dce.c - dead-code elimination: nodes no output depends on are dropped.
 *
 * Requires: a well-formed graph.
 * Guarantees: the same leaves (every input and param stays, in order, with its name, even
 * when nothing uses it: the graph's signature is what callers feed, and it must not change
 * under optimisation), the same outputs under the same names, and every other node kept
 * exactly when some output depends on it, in the original order with its name. No node is
 * rewritten, so one sweep is the fixed point.
 */
#include "ir/alloc.h"
#include "passes/pass.h"
#include "passes/rewrite.h"

static mt_status dce(mt_rewrite *rw, mt_diag *d)
{
    const mt_graph *src = rw->src;
    mt_graph *dst = rw->dst;
    int *map = rw->map;
    char *live = mt_calloc((size_t)src->nnodes + 1, 1);
    if (!live)
        return mt_diag_set(d, MT_ERR_NOMEM, "out of memory");
    for (int i = 0; i < src->noutputs; i++)
        live[src->outputs[i]] = 1;
    /* Users come after their operands, so one backward sweep marks everything. */
    for (int i = src->nnodes - 1; i >= 0; i--) {
        const mt_node *n = &src->nodes[i];
        if (mt_op_is(n->op, MT_F_LEAF))
            live[i] = 1;
        if (live[i])
            for (int k = 0; k < n->nin; k++)
                live[n->in[k]] = 1;
    }
    mt_status st = MT_OK;
    for (int i = 0; i < src->nnodes && st == MT_OK; i++) {
        if (!live[i])
            continue;
        map[i] = mt_graph_copy_node(dst, src, i, map, d);
        if (map[i] < 0)
            st = mt_rewrite_err(d);
    }
    mt_free(live);
    return st;
}

mt_status mt_pass_dce(const mt_graph *in, mt_graph **out, mt_diag *d)
{
    return mt_rewrite_run(in, dce, out, d);
}
