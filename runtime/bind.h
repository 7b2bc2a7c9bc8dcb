/* bind.h - matching named tensors (a safetensors file) to a graph's inputs and params. */
#ifndef MT_RUNTIME_BIND_H
#define MT_RUNTIME_BIND_H

#include "ir/graph.h"
#include "runtime/tensor.h"

/* Fills `leaves` (g->nnodes slots, indexed by node id) with borrowed tensors from `m` for every
 * input, param and state, NULL elsewhere (a state absent from `m` stays NULL: zeros). A missing
 * tensor is an error naming it; a dtype or shape that differs from the declared type is an error
 * naming both; extra tensors are ignored. `source` names the file in messages. */
mt_status mt_bind_leaves(const mt_graph *g, const mt_tensor_map *m, const char *source,
                         const mt_tensor **leaves, mt_diag *d);

/* Puts the outputs (taking ownership of each) into a new map under their value names. An
 * output named twice is stored once. */
mt_status mt_outputs_to_map(const mt_graph *g, mt_tensor **outputs, mt_tensor_map **out,
                            mt_diag *d);

#endif
