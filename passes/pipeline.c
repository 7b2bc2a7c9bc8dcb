/* pipeline.c - the pass registry and the loop that runs passes, verifying after each.
 *
 * The default pipeline is the `optimized` stage: fold, algebraic, cse, dce, once each. Every
 * pass reaches its own fixed point in one forward sweep (see each file's contract), and no
 * later pass creates work for an earlier one: algebraic makes no new constants for fold (an
 * identity of constants was already folded), cse only merges identical nodes, which gives
 * algebraic no new pattern, and dce only removes. So one round is the fixed point of the
 * whole sequence; tests/unit/test_simplify.c checks that a second round changes nothing.
 */
#include "passes/pass.h"

#include <string.h>

#include "passes/rewrite.h"

static const mt_pass fold = {"fold", mt_pass_fold, "constant folding: ops of consts become consts"};
static const mt_pass algebraic = {"algebraic", mt_pass_algebraic,
                                  "identities: x*1, x+0, neg neg, reshape/permute/expand chains"};
static const mt_pass cse = {"cse", mt_pass_cse,
                            "common-subexpression elimination: compute each value once"};
static const mt_pass dce = {"dce", mt_pass_dce, "dead-code elimination: drop what no output needs"};

static const mt_pass *const default_passes[] = {&fold, &algebraic, &cse, &dce};

const mt_pass *const *mt_passes_default(int *n)
{
    *n = (int)(sizeof default_passes / sizeof default_passes[0]);
    return default_passes;
}

const mt_pass *mt_pass_lookup(const char *name)
{
    int n;
    const mt_pass *const *all = mt_passes_default(&n);
    for (int i = 0; i < n; i++)
        if (name && strcmp(all[i]->name, name) == 0)
            return all[i];
    return NULL;
}

static mt_status copy_all(mt_rewrite *rw, mt_diag *d)
{
    for (int i = 0; i < rw->src->nnodes; i++) {
        rw->map[i] = mt_graph_copy_node(rw->dst, rw->src, i, rw->map, d);
        if (rw->map[i] < 0)
            return mt_rewrite_err(d);
    }
    return MT_OK;
}

/* Checks the result of `pass`; the verifier's message is kept, prefixed with the pass. */
static mt_status check(const mt_pass *pass, const mt_graph *g, mt_diag *d)
{
#ifdef MT_VERIFY_PASSES
    mt_diag vd;
    mt_diag_init(&vd);
    mt_status st = mt_graph_verify(g, &vd);
    if (st != MT_OK) {
        char msg[MT_DIAG_MSG];
        mt_diag_format(&vd, msg, sizeof msg);
        mt_diag_set(d, MT_ERR_INTERNAL, "pass '%s' broke the graph: %s", pass->name, msg);
        if (d)
            d->node = vd.node;
    }
    mt_diag_fini(&vd);
    return st == MT_OK ? MT_OK : MT_ERR_INTERNAL;
#else
    (void)pass;
    (void)g;
    (void)d;
    return MT_OK;
#endif
}

mt_status mt_pipeline_run(const mt_graph *g, const mt_pass *const *passes, int n,
                          mt_pipeline_hook hook, void *ctx, mt_graph **out, mt_diag *d)
{
    *out = NULL;
    if (n <= 0) /* still a new graph: the caller frees *out whatever the pipeline held */
        return mt_rewrite_run(g, copy_all, out, d);
    const mt_graph *cur = g;
    mt_graph *owned = NULL; /* cur when it is an intermediate of ours */
    for (int i = 0; i < n; i++) {
        mt_graph *next = NULL;
        mt_status st = passes[i]->run(cur, &next, d);
        if (st == MT_OK && !next)
            st = mt_diag_set(d, MT_ERR_INTERNAL, "pass '%s' returned no graph", passes[i]->name);
        if (st == MT_OK)
            st = check(passes[i], next, d);
        if (st != MT_OK) {
            mt_graph_free(next);
            mt_graph_free(owned);
            return st;
        }
        if (hook)
            hook(ctx, passes[i], next);
        mt_graph_free(owned);
        owned = next;
        cur = next;
    }
    *out = owned;
    return MT_OK;
}
