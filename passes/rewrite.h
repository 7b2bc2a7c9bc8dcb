/* rewrite.h - the bookkeeping every graph-to-graph pass shares.
 *
 * A rewriting pass walks its input in node order and decides, for each node, what it becomes
 * in the new graph: a copy, a new node, or an existing value (the node disappears and its
 * uses read that value instead). `map[src id] = dst id` records the decision; operands are
 * always mapped before they are used because node order is topological.
 *
 * Two things must not change whatever a pass does: the leaves (inputs and params, in order,
 * with their names: the graph's signature) and the output names (`mtc run` writes outputs by
 * name). mt_rewrite_outputs takes care of the second; copying every leaf takes care of the
 * first.
 */
#ifndef MT_PASSES_REWRITE_H
#define MT_PASSES_REWRITE_H

#include "ir/graph.h"

/* The body of a pass: fills `dst` (empty, named like src) and `map` (src->nnodes slots, all -1
 * on entry). It must copy every leaf, in order, and map every value the outputs depend on.
 * `d` is never NULL. */
typedef mt_status (*mt_rewrite_fn)(const mt_graph *src, mt_graph *dst, int *map, mt_diag *d);

/* Runs `fn` and then mt_rewrite_outputs. On success *out is the new graph (the caller's); on
 * failure *out is NULL and d holds the first error (d may be NULL). */
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

/* Sets dst's outputs to map[src output] for each output of src, so that each output keeps its
 * name. An output whose value now has another name (it became an alias of another value) takes
 * that value's node over by renaming it, unless the value is a leaf, is itself an output under
 * its own name or was already renamed for another output: then the output gets a copy of its
 * own, `%name = reshape %value shape=<its shape>`, appended at the end. */
mt_status mt_rewrite_outputs(mt_graph *dst, const mt_graph *src, const int *map, mt_diag *d);

/* 1 when a and b are the same graph: same nodes (op, name, type, operands, attributes), same
 * outputs. Lets a pass or a test tell whether anything changed. */
int mt_graph_same(const mt_graph *a, const mt_graph *b);

#endif
