/* lower.h - fused graph -> kernel IR (passes/lower.c): the public entry of lowering.
 *
 * The lowering state and the pieces kernels are built from are private to lowering
 * (passes/lower_internal.h).
 */
#ifndef MT_PASSES_LOWER_H
#define MT_PASSES_LOWER_H

#include "ir/graph.h"
#include "ir/kernel.h"
#include "passes/fuse.h"
#include "passes/target.h"

/* Lowers g, partitioned by f, to a program: one kernel per fusion kernel, in the same order,
 * plus a copy kernel for each output that is a leaf. Buffers have no arena offsets yet
 * (passes/memplan.c assigns them). Loop shapes (merged leading axes, split reductions, the GEMM
 * statement or its plain loops) follow target t, whose executor limits go to (*out)->exec.
 * *out is NULL on failure. */
mt_status mt_lower(const mt_graph *g, const mt_fusion *f, const mt_target_desc *t, mt_kprog **out,
                   mt_diag *d);

#endif
