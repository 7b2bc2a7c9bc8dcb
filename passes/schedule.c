/* schedule.c - the schedule as a list of passes: fuse -> lower -> split bounds -> unroll ->
 * memplan.
 *
 * Each step reads and fills one state; the kernel IR verifier runs after each step that
 * leaves a program (in builds with MT_VERIFY_PASSES, all of them today, STYLE.md principle 5),
 * so a renderer only ever sees a program whose invariants hold, and a broken one names its
 * pass.
 */
#include "passes/schedule.h"

#include <stdio.h>

#include "passes/fuse.h"
#include "passes/lower.h"
#include "passes/memplan.h"
#include "passes/split_bounds.h"
#include "passes/unroll.h"

typedef struct sched_state {
    const mt_graph *g;
    const mt_target_desc *t;
    mt_fusion *f;
    mt_kprog *p;
} sched_state;

typedef struct sched_pass {
    const char *name;
    mt_status (*run)(sched_state *s, mt_diag *d);
    int verify; /* leaves a kernel program to check */
} sched_pass;

static mt_status run_fuse(sched_state *s, mt_diag *d) { return mt_fuse(s->g, &s->f, d); }
static mt_status run_lower(sched_state *s, mt_diag *d)
{
    return mt_lower(s->g, s->f, s->t, &s->p, d);
}
static mt_status run_split(sched_state *s, mt_diag *d)
{
    return s->t->split_bounds ? mt_split_bounds(s->p, d) : MT_OK;
}
static mt_status run_unroll(sched_state *s, mt_diag *d)
{
    return s->t->unroll_reduce_max > 1 ? mt_unroll_reductions(s->p, s->t->unroll_reduce_max, d)
                                       : MT_OK;
}
static mt_status run_memplan(sched_state *s, mt_diag *d) { return mt_memplan(s->p, d); }

static const sched_pass passes[] = {
    {"fuse", run_fuse, 0},     {"lower", run_lower, 1},     {"split bounds", run_split, 1},
    {"unroll", run_unroll, 1}, {"memplan", run_memplan, 1},
};

/* The verifier's message, prefixed with the pass that broke the program. */
static mt_status verify_after(const sched_pass *ps, const mt_kprog *p, mt_diag *d)
{
    mt_diag vd;
    mt_diag_init(&vd);
    if (mt_kprog_verify(p, &vd) == MT_OK)
        return MT_OK;
    if (vd.status == MT_ERR_NOMEM)
        return mt_diag_set(d, MT_ERR_NOMEM, "schedule: out of memory verifying after %s", ps->name);
    return mt_diag_set(d, MT_ERR_INTERNAL, "schedule: after %s: %s", ps->name, vd.msg);
}

mt_status mt_schedule(const mt_graph *g, const mt_target_desc *t, mt_kprog **out, mt_diag *d)
{
    *out = NULL;
    if (mt_graph_diag(g)->status != MT_OK)
        return mt_diag_set(d, MT_ERR_ARG, "%s: the graph has a builder error: %s", t->name,
                           mt_graph_diag(g)->msg);
    sched_state s = {g, t, NULL, NULL};
    mt_status st = MT_OK;
    for (size_t i = 0; i < sizeof passes / sizeof passes[0] && st == MT_OK; i++) {
        st = passes[i].run(&s, d);
#ifdef MT_VERIFY_PASSES
        if (st == MT_OK && passes[i].verify)
            st = verify_after(&passes[i], s.p, d);
#endif
    }
    mt_fusion_free(s.f);
    if (st != MT_OK) {
        mt_kprog_free(s.p);
        return st;
    }
    *out = s.p;
    return MT_OK;
}
