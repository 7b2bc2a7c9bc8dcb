/* cpu.c - the CPU backend's entry points: compile, run, dump. */
#include "codegen/cpu.h"

#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "codegen/llvm/compile.h"
#include "codegen/llvm/llvm.h"
#include "ir/alloc.h"
#include "passes/fuse.h"
#include "passes/pass.h"
#include "passes/schedule.h"
#include "runtime/exec.h"

struct mt_cpu_program {
    mt_kprog *kp;
    mt_llvm_jit *jit;
    mt_kernel_fn *fns;
    mt_entry_fn entry; /* runs every kernel in order (codegen/llvm/entry.c) */
    int nnodes;        /* of the caller's graph */
    int nopt;          /* of the optimised graph that was compiled */
    int *leaf_map;     /* optimised node id -> the caller's node id (leaves), else -1 */
    int nthreads;      /* 0: the default */
    mt_pool *pool;     /* made by the first run that needs it */
    int shares;        /* some kernel may be split over the pool; else no run starts one */
    /* What a run needs, allocated once: the arena and buffer table, and the caller's leaves
     * by optimised node id. Runs take the lock, so they share these one at a time. */
    mt_exec exec;
    const void **bound;
    pthread_mutex_t lock;
};

/* Kernel symbols are "<graph>_k<N>", so programs from different graphs can share a JIT or
 * an object file without clashes. */
static char *symbol_prefix(const mt_kprog *p)
{
    size_t n = strlen(p->name) + 2;
    char *s = mt_malloc(n);
    if (s)
        snprintf(s, n, "%s_", p->name);
    return s;
}

/* The LLVM module of p, optimised: what `mtc dump --stage llvm` prints. mt_cpu_compile
 * compiles the same functions, cut into units at kernel boundaries (codegen/llvm/compile.c). */
static mt_status emit(const mt_kprog *p, mt_llvm_module **out, mt_diag *d)
{
    char *prefix = symbol_prefix(p);
    if (!prefix)
        return mt_diag_set(d, MT_ERR_NOMEM, "cpu: out of memory");
    mt_status st = mt_llvm_emit(p, prefix, out, d);
    mt_free(prefix);
    if (st == MT_OK && (st = mt_llvm_optimize(*out, d)) != MT_OK) {
        mt_llvm_module_free(*out);
        *out = NULL;
    }
    return st;
}

/* The default simplification pipeline (the `optimized` stage); leaves keep their names. */
static mt_status optimize(const mt_graph *g, mt_graph **out, mt_diag *d)
{
    int n;
    const mt_pass *const *passes = mt_passes_default(&n);
    return mt_pipeline_run(g, passes, n, NULL, NULL, out, d);
}

void mt_cpu_free(mt_cpu_program *p)
{
    if (!p)
        return;
    mt_free(p->leaf_map);
    mt_free(p->bound);
    mt_exec_fini(&p->exec);
    mt_pool_free(p->pool);
    mt_llvm_jit_free(p->jit);
    mt_kprog_free(p->kp);
    mt_free(p->fns);
    pthread_mutex_destroy(&p->lock);
    mt_free(p);
}

/* Machine code for p->kp, linked by p->jit, and every kernel's entry point in p->fns
 * (codegen/llvm/compile.c: in parallel units, through the kernel cache). */
static mt_status compile_kernels(mt_cpu_program *p, mt_diag *d)
{
    char *prefix = symbol_prefix(p->kp);
    if (!prefix)
        return mt_diag_set(d, MT_ERR_NOMEM, "cpu: out of memory");
    /* A program of one kernel has no walk to save: it gets no entry. */
    mt_status st =
        mt_llvm_compile(p->kp, prefix, &p->jit, &p->fns, p->kp->nkernels > 1 ? &p->entry : NULL, d);
    mt_free(prefix);
    return st;
}

mt_status mt_cpu_compile(const mt_graph *g, mt_cpu_program **out, mt_diag *d)
{
    return mt_cpu_compile_for(g, mt_target_desc_cpu(), out, d);
}

mt_status mt_cpu_compile_for(const mt_graph *g, const mt_target_desc *t, mt_cpu_program **out,
                             mt_diag *d)
{
    *out = NULL;
    if (mt_graph_diag(g)->status != MT_OK)
        return mt_diag_set(d, MT_ERR_ARG, "cpu: the graph has a builder error: %s",
                           mt_graph_diag(g)->msg);
    mt_cpu_program *p = mt_calloc(1, sizeof *p);
    if (!p)
        return mt_diag_set(d, MT_ERR_NOMEM, "cpu: out of memory");
    pthread_mutex_init(&p->lock, NULL);
    p->nnodes = g->nnodes;
    mt_graph *opt = NULL;
    mt_status st = optimize(g, &opt, d);
    if (st == MT_OK) {
        /* Callers bind leaves by their own node ids; the optimised graph renumbers nodes but
         * keeps every leaf under its name. */
        p->nopt = opt->nnodes;
        p->leaf_map = mt_calloc((size_t)opt->nnodes + 1, sizeof *p->leaf_map);
        p->bound = mt_calloc((size_t)opt->nnodes + 1, sizeof *p->bound);
        if (!p->leaf_map || !p->bound)
            st = mt_diag_set(d, MT_ERR_NOMEM, "cpu: out of memory");
        for (int i = 0; i < opt->nnodes && st == MT_OK; i++)
            p->leaf_map[i] =
                mt_op_is(opt->nodes[i].op, MT_F_LEAF) ? mt_graph_find(g, opt->nodes[i].name) : -1;
    }
    if (st == MT_OK)
        st = mt_schedule(opt, t, &p->kp, d);
    mt_graph_free(opt);
    if (st == MT_OK)
        st = compile_kernels(p, d);
    if (st == MT_OK)
        st = mt_exec_init(&p->exec, p->kp, d);
    if (st == MT_OK)
        p->exec.entry = p->entry;
    for (int k = 0; st == MT_OK && k < p->kp->nkernels; k++)
        p->shares |= !mt_exec_runs_whole(&p->kp->exec, &p->kp->kernels[k]);
    if (st != MT_OK) {
        mt_cpu_free(p);
        return st;
    }
    *out = p;
    return MT_OK;
}

void mt_cpu_set_kernel_timer(mt_cpu_program *p, mt_kernel_timer timer, void *ctx)
{
    pthread_mutex_lock(&p->lock);
    p->exec.timer = timer;
    p->exec.timer_ctx = ctx;
    pthread_mutex_unlock(&p->lock);
}

int mt_cpu_has_entry(const mt_cpu_program *p) { return p->entry != NULL; }

const mt_kprog *mt_cpu_kernels(const mt_cpu_program *p) { return p->kp; }

mt_status mt_cpu_set_threads(mt_cpu_program *p, int n, mt_diag *d)
{
    if (n < 1)
        return mt_diag_set(d, MT_ERR_ARG, "cpu: thread count must be >= 1, got %d", n);
    pthread_mutex_lock(&p->lock);
    mt_pool_free(p->pool);
    p->pool = NULL;
    p->nthreads = n;
    pthread_mutex_unlock(&p->lock);
    return MT_OK;
}

mt_status mt_cpu_run_buffers(mt_cpu_program *p, const void *const *leaves, void *const *outputs,
                             mt_diag *d)
{
    pthread_mutex_lock(&p->lock);
    if (!p->pool && p->shares) {
        int n = p->nthreads ? p->nthreads : mt_pool_default_threads();
        if (n > 1)
            p->pool = mt_pool_new(n); /* NULL (out of memory) just means one thread */
    }
    for (int i = 0; i < p->nopt; i++)
        p->bound[i] = leaves && p->leaf_map[i] >= 0 && p->leaf_map[i] < p->nnodes
                          ? leaves[p->leaf_map[i]]
                          : NULL;
    mt_status st =
        mt_exec_run(&p->exec, (mt_kernel_fn const *)p->fns, p->pool, p->bound, p->nopt, outputs, d);
    pthread_mutex_unlock(&p->lock);
    return st;
}

mt_kernel_fn const *mt_cpu_kernel_fns(const mt_cpu_program *p)
{
    return (mt_kernel_fn const *)p->fns;
}

/* Checks the caller's tensors against the compiled program's input buffers. */
static mt_status check_leaves(const mt_cpu_program *p, const mt_tensor *const *leaves, mt_diag *d)
{
    for (int b = 0; b < p->kp->nbufs; b++) {
        const mt_kbuf *u = &p->kp->bufs[b];
        if (u->kind != MT_KBUF_INPUT)
            continue;
        int id = p->leaf_map[u->node];
        const mt_tensor *t = leaves && id >= 0 && id < p->nnodes ? leaves[id] : NULL;
        if (!t)
            return mt_diag_set(d, MT_ERR_ARG, "cpu: no tensor for %%%s", u->name);
        if (!mt_type_equal(&t->type, &u->type)) {
            char a[MT_TYPE_STR_MAX], c[MT_TYPE_STR_MAX];
            return mt_diag_set(d, MT_ERR_ARG, "cpu: tensor for %%%s is %s but it is declared %s",
                               u->name, mt_type_str(&t->type, a, sizeof a),
                               mt_type_str(&u->type, c, sizeof c));
        }
    }
    return MT_OK;
}

mt_status mt_cpu_run(mt_cpu_program *p, const mt_tensor *const *leaves, mt_tensor **outputs,
                     mt_diag *d)
{
    int n = p->kp->noutputs;
    for (int i = 0; i < n; i++)
        outputs[i] = NULL;
    mt_status st = check_leaves(p, leaves, d);
    const void **data = mt_calloc((size_t)p->nnodes + 1, sizeof *data);
    void **out = mt_calloc((size_t)n + 1, sizeof *out);
    if (st == MT_OK && (!data || !out))
        st = mt_diag_set(d, MT_ERR_NOMEM, "cpu: out of memory");
    for (int i = 0; i < p->nnodes && st == MT_OK; i++)
        data[i] = leaves && leaves[i] ? leaves[i]->data : NULL;
    for (int i = 0; i < n && st == MT_OK; i++) {
        const mt_kbuf *u = &p->kp->bufs[p->kp->outputs[i]];
        if (!(outputs[i] = mt_tensor_new(u->type)))
            st = mt_diag_set(d, MT_ERR_NOMEM, "cpu: out of memory for output %%%s", u->name);
        else
            out[i] = outputs[i]->data;
    }
    if (st == MT_OK)
        st = mt_cpu_run_buffers(p, data, out, d);
    if (st != MT_OK)
        for (int i = 0; i < n; i++) {
            mt_tensor_free(outputs[i]);
            outputs[i] = NULL;
        }
    mt_free(data);
    mt_free(out);
    return st;
}

/* ---- dumps ----------------------------------------------------------------------------- */

static char *oom(char *s, mt_diag *d)
{
    if (!s)
        mt_diag_set(d, MT_ERR_NOMEM, "cpu: out of memory");
    return s;
}

char *mt_cpu_dump_fused(const mt_graph *g, int why, mt_diag *d)
{
    mt_fusion *f = NULL;
    if (mt_fuse(g, &f, d) != MT_OK)
        return NULL;
    char *s = mt_fusion_print(g, f, why);
    mt_fusion_free(f);
    return oom(s, d);
}

char *mt_cpu_dump_kernels(const mt_graph *g, mt_diag *d)
{
    mt_kprog *p = NULL;
    if (mt_schedule(g, mt_target_desc_cpu(), &p, d) != MT_OK)
        return NULL;
    char *s = mt_kprog_print(p);
    mt_kprog_free(p);
    return oom(s, d);
}

char *mt_cpu_dump_llvm(const mt_graph *g, mt_diag *d)
{
    mt_kprog *p = NULL;
    mt_llvm_module *m = NULL;
    char *s = NULL;
    if (mt_schedule(g, mt_target_desc_cpu(), &p, d) == MT_OK && emit(p, &m, d) == MT_OK)
        s = oom(mt_llvm_module_print(m), d);
    mt_llvm_module_free(m);
    mt_kprog_free(p);
    return s;
}

mt_status mt_cpu_stats(const mt_graph *g, mt_stats *s, mt_diag *d)
{
    mt_kprog *p = NULL;
    mt_status st = mt_graph_stats(g, s, d);
    if (st == MT_OK)
        st = mt_schedule(g, mt_target_desc_cpu(), &p, d);
    if (st != MT_OK)
        return st;
    s->nodes = p->nkernels;
    s->bytes = 0;
    s->peak = (double)p->arena_bytes;
    for (int k = 0; k < p->nkernels; k++)
        for (int i = 0; i < p->kernels[k].nbufs; i++) {
            const mt_kbuf *u = &p->bufs[p->kernels[k].bufs[i]];
            s->bytes += (double)u->numel * (double)mt_dtype_size(u->type.dtype);
        }
    for (int b = 0; b < p->nbufs; b++)
        if (p->bufs[b].kind != MT_KBUF_TEMP)
            s->peak += (double)p->bufs[b].numel * (double)mt_dtype_size(p->bufs[b].type.dtype);
    s->updates_inplace = 0;
    for (int i = 0; i < p->nupdates; i++)
        s->updates_inplace += p->updates[i].value == p->updates[i].target;
    s->inplace_bytes = (double)p->update_inplace_bytes;
    mt_kprog_free(p);
    return MT_OK;
}
