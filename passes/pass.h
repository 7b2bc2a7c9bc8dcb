/* pass.h - passes and the pipeline that runs them.
 *
 * A pass reads a const graph and builds a new one (STYLE.md principle 5); the input is never
 * changed. The pipeline verifies the result of every pass and names the pass that broke an
 * invariant. Passes are registered in passes/pipeline.c under the name used on the command
 * line (`mtc dump --stage`, `--passes`).
 */
#ifndef MT_PASSES_PASS_H
#define MT_PASSES_PASS_H

#include "ir/graph.h"

typedef mt_status (*mt_pass_fn)(const mt_graph *in, mt_graph **out, mt_diag *d);

typedef struct mt_pass {
    const char *name; /* as on the command line, e.g. "dce" */
    mt_pass_fn run;
    const char *doc; /* one line */
} mt_pass;

/* The registered passes, in the default order of the `optimized` stage. */
const mt_pass *const *mt_passes_default(int *n);
const mt_pass *mt_pass_lookup(const char *name);

/* Called after each pass with the pass and its (verified) result; may be NULL. */
typedef void (*mt_pipeline_hook)(void *ctx, const mt_pass *pass, const mt_graph *result);

/* Runs `passes` in order starting from `g` (which stays the caller's). On success *out is a new
 * graph. After every pass the verifier runs; a failure is MT_ERR_INTERNAL naming the pass. */
mt_status mt_pipeline_run(const mt_graph *g, const mt_pass *const *passes, int n,
                          mt_pipeline_hook hook, void *ctx, mt_graph **out, mt_diag *d);

/* Autodiff (passes/autodiff.c): the SPEC section 4 `mtc grad` graph of g. `wrt` lists value
 * ids of g (inputs or params); NULL/0 means every param in declaration order. */
mt_status mt_pass_grad(const mt_graph *g, const int *wrt, int nwrt, mt_graph **out, mt_diag *d);

/* The simplification passes of the `optimized` stage (passes/fold.c, algebraic.c, cse.c,
 * dce.c), registered in that order; each file opens with its contract. */
mt_status mt_pass_fold(const mt_graph *in, mt_graph **out, mt_diag *d);
mt_status mt_pass_algebraic(const mt_graph *in, mt_graph **out, mt_diag *d);
mt_status mt_pass_cse(const mt_graph *in, mt_graph **out, mt_diag *d);
mt_status mt_pass_dce(const mt_graph *in, mt_graph **out, mt_diag *d);

#endif
