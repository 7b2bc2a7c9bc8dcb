/* interp.h - the reference interpreter: the numeric oracle for every backend.
 *
 * Plain loops over row-major buffers, one function per op kind, written to be read. f32 values
 * are computed in double and rounded once per op, so the interpreter is at least as accurate
 * as any backend it checks.
 */
#ifndef MT_RUNTIME_INTERP_H
#define MT_RUNTIME_INTERP_H

#include "ir/graph.h"
#include "runtime/tensor.h"

/* Evaluates every node. `leaves` has g->nnodes slots indexed by node id; the slots of input,
 * param and state nodes hold their (borrowed) tensors (a NULL state starts at zero), the
 * others are ignored. On success `values`
 * (g->nnodes slots) holds a new tensor for every node, leaves included (copies); the caller
 * frees them. On failure every slot of `values` is NULL. */
mt_status mt_interp_eval(const mt_graph *g, const mt_tensor *const *leaves, mt_tensor **values,
                         mt_diag *d);

/* Like mt_interp_eval but keeps only the outputs: `outputs` has g->noutputs slots. */
mt_status mt_interp_run(const mt_graph *g, const mt_tensor *const *leaves, mt_tensor **outputs,
                        mt_diag *d);

/* Runs a step graph: like mt_interp_run, and `updates` (g->nupdates slots; NULL to drop them)
 * receives the new value of each update target, in the order of g->updates. A state leaf
 * whose slot in `leaves` is NULL starts at zero. */
mt_status mt_interp_step(const mt_graph *g, const mt_tensor *const *leaves, mt_tensor **outputs,
                         mt_tensor **updates, mt_diag *d);

/* Computes one node's value from its operands' values (what mt_interp_eval does per node).
 * `in` holds n->nin tensors; *out is a new tensor. */
mt_status mt_interp_node(const mt_node *n, const mt_tensor *const *in, mt_tensor **out, mt_diag *d);

#endif
