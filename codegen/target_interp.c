/* target_interp.c - the "interp" target: the reference interpreter (runtime/interp.c) behind
 * codegen/target.h. Slow and obviously right: the oracle the other targets are checked
 * against, now reachable through the same program API. */
#include <string.h>

#include "codegen/target.h"
#include "ir/alloc.h"
#include "passes/pass.h"
#include "runtime/interp.h"
#include "runtime/tensor.h"

typedef struct interp_program {
    mt_graph *g; /* a copy: the caller's graph is borrowed only for the compile */
    /* Per run, allocated once: a tensor header per node that wraps the caller's leaf data,
     * the leaves as the interpreter takes them, and its fresh outputs. */
    mt_tensor *wrap;
    const mt_tensor **leaves;
    mt_tensor **outputs, **updates;
} interp_program;

static void free_impl(void *impl)
{
    interp_program *p = impl;
    if (!p)
        return;
    mt_graph_free(p->g);
    mt_free(p->wrap);
    mt_free(p->leaves);
    mt_free(p->outputs);
    mt_free(p->updates);
    mt_free(p);
}

static mt_status compile(const mt_graph *g, void **impl, mt_diag *d)
{
    *impl = NULL;
    interp_program *p = mt_calloc(1, sizeof *p);
    if (!p)
        return mt_diag_set(d, MT_ERR_NOMEM, "interp: out of memory");
    /* Zero passes: a plain copy, node for node, so the caller's node ids stay valid. */
    mt_status st = mt_pipeline_run(g, NULL, 0, NULL, NULL, &p->g, d);
    if (st == MT_OK && p->g->nnodes != g->nnodes)
        st = mt_diag_set(d, MT_ERR_INTERNAL, "interp: copying the graph renumbered its nodes");
    if (st == MT_OK) {
        size_t n = (size_t)g->nnodes + 1;
        p->wrap = mt_calloc(n, sizeof *p->wrap);
        p->leaves = mt_calloc(n, sizeof *p->leaves);
        p->outputs = mt_calloc((size_t)g->noutputs + 1, sizeof *p->outputs);
        p->updates = mt_calloc((size_t)g->nupdates + 1, sizeof *p->updates);
        if (!p->wrap || !p->leaves || !p->outputs || !p->updates)
            st = mt_diag_set(d, MT_ERR_NOMEM, "interp: out of memory");
    }
    for (int i = 0; st == MT_OK && i < g->nnodes; i++) {
        p->wrap[i].type = g->nodes[i].type;
        p->wrap[i].nbytes =
            (size_t)mt_type_numel(&g->nodes[i].type) * mt_dtype_size(g->nodes[i].type.dtype);
    }
    if (st != MT_OK) {
        free_impl(p);
        return st;
    }
    *impl = p;
    return MT_OK;
}

static mt_status run(void *impl, const void *const *leaves, void *const *outputs, mt_diag *d)
{
    interp_program *p = impl;
    const mt_graph *g = p->g;
    for (int i = 0; i < g->nnodes; i++) {
        /* The interpreter only reads leaves (it copies them into its values). */
        p->wrap[i].data = (void *)leaves[i];
        p->leaves[i] = leaves[i] ? &p->wrap[i] : NULL;
    }
    mt_status st = mt_interp_step(g, p->leaves, p->outputs, p->updates, d);
    for (int i = 0; i < g->noutputs; i++) {
        if (st == MT_OK)
            memcpy(outputs[i], p->outputs[i]->data, p->outputs[i]->nbytes);
        mt_tensor_free(p->outputs[i]);
        p->outputs[i] = NULL;
    }
    /* The interpreter read every old value into its own copies: the new ones land now, in
     * the program's storage of each param and state (target.h). */
    for (int i = 0; i < g->nupdates; i++) {
        if (st == MT_OK)
            memcpy((void *)leaves[g->updates[i].target], p->updates[i]->data,
                   p->updates[i]->nbytes);
        mt_tensor_free(p->updates[i]);
        p->updates[i] = NULL;
    }
    return st;
}

const mt_target mt_target_interp = {
    "interp", "the reference interpreter: slow, the numeric oracle",
    compile,  run,
    NULL,     free_impl,
    NULL,     NULL,
    NULL,
};
