/* fuzz_pipeline.c - libFuzzer target for the whole pipeline up to the kernel IR, without
 * running anything: MTIR text -> parse -> the training step (passes/optim.c) or, where the
 * graph is no loss, its gradient (passes/autodiff.c) -> the default simplification passes ->
 * the schedule for the CPU target (fuse, lower, plan memory) -> the kernel-IR verifier.
 *
 * Every stage must give MT_OK or a clean error with a message; MT_ERR_INTERNAL (a pass broke
 * an invariant the verifiers check) is a finding, as is any crash, sanitizer report or leak.
 * The first byte of the input picks the optimiser for a step (it is a comment or whitespace
 * to the parser only when the text starts that way, so inputs from the tests work as they
 * are): even SGD with momentum, odd Adam. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "codegen/cpu.h"
#include "ir/alloc.h"
#include "ir/graph.h"
#include "ir/kernel.h"
#include "passes/optim.h"
#include "passes/pass.h"
#include "passes/schedule.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(mt_status st, const mt_diag *d)
{
    if (st == MT_ERR_INTERNAL || (st != MT_OK && (d->status != st || d->msg[0] == 0)))
        abort();
}

/* The default passes, then the CPU schedule and the kernel-IR verifier. */
static void schedule(const mt_graph *g)
{
    mt_diag d;
    mt_diag_init(&d);
    int npasses = 0;
    const mt_pass *const *passes = mt_passes_default(&npasses);
    mt_graph *opt = NULL;
    mt_status st = mt_pipeline_run(g, passes, npasses, NULL, NULL, &opt, &d);
    check(st, &d);
    if (st == MT_OK) {
        mt_kprog *p = NULL;
        st = mt_schedule(opt, mt_target_desc_cpu(), &p, &d);
        check(st, &d);
        if (st == MT_OK && mt_kprog_verify(p, &d) != MT_OK)
            abort();
        mt_kprog_free(p);
    }
    mt_graph_free(opt);
    mt_diag_fini(&d);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    mt_diag d;
    mt_diag_init(&d);
    mt_graph *g = NULL;
    mt_status st = mt_graph_parse((const char *)data, size, "fuzz.mt", &g, &d);
    check(st, &d);
    if (st != MT_OK)
        return 0;
    schedule(g); /* the forward graph on its own */

    mt_optim o;
    mt_optim_defaults(&o, size && (data[0] & 1) ? MT_OPTIM_ADAM : MT_OPTIM_SGD);
    o.momentum = 0.9;
    o.weight_decay = 1e-4;
    mt_graph *step = NULL;
    mt_diag_fini(&d);
    mt_diag_init(&d);
    st = mt_pass_step(g, &o, NULL, 0, &step, &d);
    check(st, &d);
    if (st == MT_OK) {
        schedule(step);
    } else {
        mt_graph *grad = NULL;
        mt_diag_fini(&d);
        mt_diag_init(&d);
        st = mt_pass_grad(g, NULL, 0, &grad, &d);
        check(st, &d);
        if (st == MT_OK)
            schedule(grad);
        mt_graph_free(grad);
    }
    mt_graph_free(step);
    mt_graph_free(g);
    mt_diag_fini(&d);
    return 0;
}
