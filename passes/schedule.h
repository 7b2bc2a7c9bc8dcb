/* schedule.h - a graph -> a planned kernel program for a target (passes/schedule.c).
 *
 * The schedule is every target's: fuse (passes/fuse.c) -> lower (passes/lower.c) -> plan
 * memory (passes/memplan.c), steered by the target description (passes/target.h). A backend
 * calls mt_schedule and renders the program it returns (codegen/cpu.c with LLVM).
 */
#ifndef MT_PASSES_SCHEDULE_H
#define MT_PASSES_SCHEDULE_H

#include "ir/graph.h"
#include "ir/kernel.h"
#include "passes/target.h"

/* Fuses, lowers and plans g for target t. With MT_VERIFY_PASSES the kernel IR is verified
 * (mt_kprog_verify) after lowering and after memory planning; a broken invariant is
 * MT_ERR_INTERNAL naming the pass that broke it. A graph with a builder error is MT_ERR_ARG.
 * *out is NULL on failure. */
mt_status mt_schedule(const mt_graph *g, const mt_target_desc *t, mt_kprog **out, mt_diag *d);

#endif
