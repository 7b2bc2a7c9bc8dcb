/* gpu.c - a graph compiled for a GPU and run through a device API (gpu.h). */
#include "codegen/gpu.h"

#include <pthread.h>
#include <string.h>

#include "ir/alloc.h"
#include "ir/type.h"
#include "passes/pass.h"
#include "passes/schedule.h"

struct mt_gpu_program {
    const mt_gpu_ops *ops;
    void *dev;
    mt_kprog *kp;
    void *module;
    void **fns;        /* per kernel */
    mt_gpu_mem *mem;   /* per buffer; 0 for none */
    char *owned;       /* per buffer: mem[b] is a buffer of its own (release it) */
    mt_gpu_mem arena;  /* the temporaries, where ops->at can point into it */
    int *resident;     /* per buffer: a param or state, kept on the device between runs */
    int nnodes;        /* of the caller's graph */
    int *node_buf;     /* caller's node id -> the buffer holding that leaf, or -1 */
    mt_gpu_mem **args; /* per kernel: its parameters (render.h) */
    int *nargs;
    int *group; /* per kernel: mt_c_kernel_group */
    pthread_mutex_t lock;
};

static size_t buf_bytes(const mt_kbuf *u)
{
    return (size_t)u->numel * mt_dtype_size(u->type.dtype);
}

void mt_gpu_free(mt_gpu_program *p)
{
    if (!p)
        return;
    if (p->dev) {
        if (p->module)
            p->ops->unload(p->dev, p->module, p->kp ? p->kp->nkernels : 0, p->fns);
        for (int b = 0; p->kp && p->mem && b < p->kp->nbufs; b++)
            if (p->owned[b] && p->mem[b])
                p->ops->release(p->dev, p->mem[b]);
        if (p->arena)
            p->ops->release(p->dev, p->arena);
        p->ops->close(p->dev);
    }
    for (int k = 0; p->args && k < p->kp->nkernels; k++)
        mt_free(p->args[k]);
    mt_free(p->args);
    mt_free(p->nargs);
    mt_free(p->group);
    mt_free(p->fns);
    mt_free(p->mem);
    mt_free(p->owned);
    mt_free(p->resident);
    mt_free(p->node_buf);
    mt_kprog_free(p->kp);
    pthread_mutex_destroy(&p->lock);
    mt_free(p);
}

/* The default simplification pipeline, then the schedule for the GPU. */
static mt_status schedule(const mt_graph *g, mt_graph **opt, mt_kprog **kp, mt_diag *d)
{
    int n;
    const mt_pass *const *passes = mt_passes_default(&n);
    mt_status st = mt_pipeline_run(g, passes, n, NULL, NULL, opt, d);
    if (st == MT_OK)
        st = mt_schedule(*opt, mt_target_desc_gpu(), kp, d);
    return st;
}

/* Device buffers for every buffer of the program. */
static mt_status allocate(mt_gpu_program *p, mt_diag *d)
{
    const mt_kprog *kp = p->kp;
    const mt_gpu_ops *o = p->ops;
    mt_status st = MT_OK;
    if (kp->arena_bytes > 0)
        st = o->alloc(p->dev, (size_t)kp->arena_bytes, &p->arena, d);
    for (int b = 0; b < kp->nbufs && st == MT_OK; b++) {
        const mt_kbuf *u = &kp->bufs[b];
        if (u->kind == MT_KBUF_TEMP) {
            /* In the arena: a pointer into it, or reached through the arena parameter. */
            p->mem[b] = o->at ? o->at(p->arena, (size_t)u->offset) : 0;
        } else {
            st = o->alloc(p->dev, buf_bytes(u), &p->mem[b], d);
            p->owned[b] = st == MT_OK;
        }
    }
    return st;
}

/* Kernel names, the source, the build, and each kernel's argument list. */
static mt_status build(mt_gpu_program *p, mt_diag *d)
{
    const mt_kprog *kp = p->kp;
    char *prefix = mt_c_symbol_prefix(kp->name);
    char **names = mt_calloc((size_t)kp->nkernels + 1, sizeof *names);
    char *src = prefix ? mt_c_render_program(p->ops->dialect, kp, prefix, d) : NULL;
    mt_status st = src && names ? MT_OK : MT_ERR_NOMEM;
    for (int k = 0; k < kp->nkernels && st == MT_OK; k++) {
        size_t len = strlen(prefix) + strlen(kp->kernels[k].name) + 1;
        if ((names[k] = mt_malloc(len)) == NULL)
            st = MT_ERR_NOMEM;
        else
            memcpy(names[k], prefix, strlen(prefix) + 1), strcat(names[k], kp->kernels[k].name);
    }
    const mt_c_dialect *dl = p->ops->dialect;
    for (int k = 0; k < kp->nkernels && st == MT_OK; k++) {
        const mt_kernel *ke = &kp->kernels[k];
        if (!(p->args[k] = mt_calloc((size_t)ke->nbufs + 2, sizeof *p->args[k])))
            st = MT_ERR_NOMEM;
        int n = 0;
        for (int i = 0; st == MT_OK && i < ke->nbufs; i++)
            if (mt_c_buffer_is_param(dl, kp, ke->bufs[i]))
                p->args[k][n++] = p->mem[ke->bufs[i]];
        if (st == MT_OK && mt_c_kernel_takes_arena(dl, kp, ke))
            p->args[k][n++] = p->arena;
        p->nargs[k] = n;
        p->group[k] = mt_c_kernel_group(kp, ke);
    }
    if (st == MT_ERR_NOMEM)
        mt_diag_set(d, MT_ERR_NOMEM, "%s: out of memory", p->ops->name);
    if (st == MT_OK)
        st = p->ops->build(p->dev, src, kp->nkernels, (const char *const *)names, &p->module,
                           p->fns, d);
    for (int k = 0; names && k < kp->nkernels; k++)
        mt_free(names[k]);
    mt_free(names);
    mt_free(src);
    mt_free(prefix);
    return st;
}

mt_status mt_gpu_compile(const mt_gpu_ops *ops, const mt_graph *g, mt_gpu_program **out, mt_diag *d)
{
    *out = NULL;
    mt_gpu_program *p = mt_calloc(1, sizeof *p);
    if (!p)
        return mt_diag_set(d, MT_ERR_NOMEM, "%s: out of memory", ops->name);
    pthread_mutex_init(&p->lock, NULL);
    p->ops = ops;
    p->nnodes = g->nnodes;
    /* The device first: without one nothing else is worth doing, and its message is the one
     * the user needs. */
    mt_status st = ops->open(&p->dev, d);
    mt_graph *opt = NULL;
    for (int i = 0; i < g->nnodes && st == MT_OK && !ops->allreduce; i++)
        if (mt_op_is(g->nodes[i].op, MT_F_COLLECTIVE))
            st = mt_diag_set(d, MT_ERR_UNSUPPORTED,
                             "%s: %%%s: allreduce is not available on "
                             "this target (use the cpu or interp target)",
                             ops->name, g->nodes[i].name);
    if (st == MT_OK)
        st = schedule(g, &opt, &p->kp, d);
    if (st == MT_OK) {
        int nb = p->kp->nbufs, nk = p->kp->nkernels;
        p->mem = mt_calloc((size_t)nb + 1, sizeof *p->mem);
        p->owned = mt_calloc((size_t)nb + 1, 1);
        p->resident = mt_calloc((size_t)nb + 1, sizeof *p->resident);
        p->node_buf = mt_calloc((size_t)g->nnodes + 1, sizeof *p->node_buf);
        p->fns = mt_calloc((size_t)nk + 1, sizeof *p->fns);
        p->args = mt_calloc((size_t)nk + 1, sizeof *p->args);
        p->nargs = mt_calloc((size_t)nk + 1, sizeof *p->nargs);
        p->group = mt_calloc((size_t)nk + 1, sizeof *p->group);
        if (!p->mem || !p->owned || !p->resident || !p->node_buf || !p->fns || !p->args ||
            !p->nargs || !p->group)
            st = mt_diag_set(d, MT_ERR_NOMEM, "%s: out of memory", ops->name);
    }
    if (st == MT_OK) {
        /* Callers name leaves by their own node ids; the optimised graph keeps every leaf
         * under its name. */
        for (int i = 0; i < g->nnodes; i++)
            p->node_buf[i] = -1;
        for (int b = 0; b < p->kp->nbufs; b++) {
            const mt_kbuf *u = &p->kp->bufs[b];
            if (u->kind != MT_KBUF_INPUT && u->kind != MT_KBUF_STATE)
                continue;
            int id = mt_graph_find(g, opt->nodes[u->node].name);
            if (id >= 0)
                p->node_buf[id] = b;
            p->resident[b] = opt->nodes[u->node].op != MT_OP_INPUT;
        }
    }
    mt_graph_free(opt);
    if (st == MT_OK)
        st = allocate(p, d);
    if (st == MT_OK)
        st = build(p, d);
    if (st != MT_OK) {
        mt_gpu_free(p);
        return st;
    }
    *out = p;
    return MT_OK;
}

/* An allreduce kernel has stored its local value: the ranks exchange it before any later
 * kernel reads it. */
static mt_status reduce(mt_gpu_program *p, const mt_kernel *ke, mt_diag *d)
{
    const mt_kbuf *u = &p->kp->bufs[ke->allreduce_buf];
    int in_arena = u->kind == MT_KBUF_TEMP && !p->ops->at;
    return p->ops->allreduce(p->dev, in_arena ? p->arena : p->mem[ke->allreduce_buf],
                             in_arena ? (size_t)u->offset : 0, (size_t)u->numel, u->type.dtype,
                             ke->allreduce_op, d);
}

static mt_status run_locked(mt_gpu_program *p, const void *const *leaves, void *const *outputs,
                            mt_diag *d)
{
    const mt_kprog *kp = p->kp;
    const mt_gpu_ops *o = p->ops;
    mt_status st = MT_OK;
    for (int i = 0; i < p->nnodes && st == MT_OK; i++) {
        int b = p->node_buf[i];
        if (b < 0 || p->resident[b])
            continue;
        if (!leaves || !leaves[i])
            return mt_diag_set(d, MT_ERR_ARG, "%s: no data for %%%s", o->name, kp->bufs[b].name);
        st = o->write(p->dev, p->mem[b], leaves[i], buf_bytes(&kp->bufs[b]), d);
    }
    for (int k = 0; k < kp->nkernels && st == MT_OK; k++) {
        st = o->launch(p->dev, p->fns[k], p->nargs[k], p->args[k],
                       mt_c_kernel_items(&kp->kernels[k]), p->group[k], d);
        if (st == MT_OK && kp->kernels[k].allreduce)
            st = reduce(p, &kp->kernels[k], d);
    }
    /* Every kernel has read the old values: the updates not stored in place land now. */
    for (int i = 0; i < kp->nupdates && st == MT_OK; i++) {
        const mt_kupdate *u = &kp->updates[i];
        if (u->value == u->target)
            continue;
        /* The new value is a temporary kept live to the end, or an output. */
        const mt_kbuf *v = &kp->bufs[u->value];
        int in_arena = v->kind == MT_KBUF_TEMP && !o->at;
        st = o->copy(p->dev, p->mem[u->target], in_arena ? p->arena : p->mem[u->value],
                     in_arena ? (size_t)v->offset : 0, buf_bytes(&kp->bufs[u->target]), d);
    }
    for (int i = 0; i < kp->noutputs && st == MT_OK; i++)
        st = o->read(p->dev, p->mem[kp->outputs[i]], outputs[i],
                     buf_bytes(&kp->bufs[kp->outputs[i]]), d);
    mt_status fin = o->finish(p->dev, d);
    return st != MT_OK ? st : fin;
}

mt_status mt_gpu_run(mt_gpu_program *p, const void *const *leaves, void *const *outputs, mt_diag *d)
{
    pthread_mutex_lock(&p->lock);
    mt_status st = run_locked(p, leaves, outputs, d);
    pthread_mutex_unlock(&p->lock);
    return st;
}

/* The device buffer of param or state `node`, or -1 when no kernel uses it. */
static int resident_buf(const mt_gpu_program *p, int node)
{
    if (node < 0 || node >= p->nnodes)
        return -1;
    int b = p->node_buf[node];
    return b >= 0 && p->resident[b] ? b : -1;
}

mt_status mt_gpu_upload(mt_gpu_program *p, int node, const void *data, mt_diag *d)
{
    int b = resident_buf(p, node);
    if (b < 0)
        return MT_OK;
    pthread_mutex_lock(&p->lock);
    mt_status st = p->ops->write(p->dev, p->mem[b], data, buf_bytes(&p->kp->bufs[b]), d);
    mt_status fin = p->ops->finish(p->dev, d);
    pthread_mutex_unlock(&p->lock);
    return st != MT_OK ? st : fin;
}

mt_status mt_gpu_download(mt_gpu_program *p, int node, void *data, mt_diag *d)
{
    int b = resident_buf(p, node);
    if (b < 0)
        return MT_OK;
    pthread_mutex_lock(&p->lock);
    mt_status st = p->ops->read(p->dev, p->mem[b], data, buf_bytes(&p->kp->bufs[b]), d);
    mt_status fin = p->ops->finish(p->dev, d);
    pthread_mutex_unlock(&p->lock);
    return st != MT_OK ? st : fin;
}

char *mt_gpu_dump_source(const mt_c_dialect *dl, const mt_graph *g, mt_diag *d)
{
    mt_kprog *kp = NULL;
    if (mt_schedule(g, mt_target_desc_gpu(), &kp, d) != MT_OK)
        return NULL;
    char *prefix = mt_c_symbol_prefix(kp->name);
    char *s = prefix ? mt_c_render_program(dl, kp, prefix, d) : NULL;
    if (!prefix)
        mt_diag_set(d, MT_ERR_NOMEM, "%s: out of memory", dl->name);
    mt_free(prefix);
    mt_kprog_free(kp);
    return s;
}
