/* rewrite.h - the bookkeeping every graph-to-graph pass shares.
 *
 * A rewriting pass walks its input in node order and decides, for each node, what it becomes
 * in the new graph: a copy, a new node, or an existing value (the node disappears and its
 * users read that value instead). `map[src id] = dst id` records the decision; operands are
 * always mapped before they are used because node order is topological.
 *
 * Two things must not change whatever a pass does: the leaves (inputs and params, in order,
 * with their names: the graph's signature) and the output names (`mtc run` writes outputs by
 * name). Copying every leaf takes care of the first. For the second, a replacement node takes
 * the name of the node it replaces (mt_rewrite_add), and a node that becomes an existing value
 * goes through mt_rewrite_alias, which handles the case where that node is an output.
 */
#ifndef MT_PASSES_REWRITE_H
#define MT_PASSES_REWRITE_H

#include "ir/graph.h"

/* One run of a rewriting pass. */
typedef struct mt_rewrite {
    const mt_graph *src;
    mt_graph *dst;
    int *map; /* src id -> the dst value its users read; -1 until decided (or dropped) */
    int *out; /* src id -> the dst node listed as that output, when not map[id]; else -1 */
} mt_rewrite;

/* The body of a pass: fills rw->dst (empty, named like src) and rw->map (all -1 on entry). It
 * must copy every leaf, in order, and map every value the outputs depend on. `d` is never
 * NULL. */
typedef mt_status (*mt_rewrite_fn)(mt_rewrite *rw, mt_diag *d);

/* Runs `fn` on a new graph and sets its outputs. On success *out is the new graph (the
 * caller's); on failure *out is NULL and d holds the first error (d may be NULL). An output
 * that lost its name is MT_ERR_INTERNAL: a pass forgot mt_rewrite_alias. */
mt_status mt_rewrite_run(const mt_graph *src, mt_rewrite_fn fn, mt_graph **out, mt_diag *d);

/* The status to return after a graph call reported failure with -1: the recorded one. */
static inline mt_status mt_rewrite_err(const mt_diag *d)
{
    return d->status != MT_OK ? d->status : MT_ERR_INTERNAL;
}

/* Adds a node that replaces src node `orig`: it takes orig's name (when free) and source
 * location. `attrs` NULL means defaults; `declared` is required for const and rand. Returns the
 * new id or -1 with the error in d. */
int mt_rewrite_add(mt_graph *dst, const mt_node *orig, mt_op op, const int *in, int nin,
                   const mt_attrs *attrs, const mt_type *declared, mt_diag *d);

/* Src node `id` becomes dst value `v`, which already exists: sets rw->map[id] = v. When id is
 * an output its name must survive: v takes that name over (it is renamed) when v is a computed
 * node that no other output holds; otherwise (v is a leaf, or an output under its own name, or
 * already renamed for an earlier output) the output gets a copy of v under its name,
 * `%name = reshape %v shape=<its own shape>`, recorded in rw->out. Users still read v, so no
 * node ever depends on a copy. Returns MT_OK or the error (in d). */
mt_status mt_rewrite_alias(mt_rewrite *rw, int id, int v, mt_diag *d);

/* 1 when a and b are the same graph: same nodes (op, name, type, operands, attributes), same
 * outputs. Lets a pass or a test tell whether anything changed. */
int mt_graph_same(const mt_graph *a, const mt_graph *b);

#endif
