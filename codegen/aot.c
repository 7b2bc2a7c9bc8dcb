/* aot.c - `mtc compile`: a graph -> a self-contained shared object and its header (aot.h).
 *
 * Steps: check every param and state against the weights (before any compiling, so a wrong
 * file fails fast and names the tensor); simplify and schedule as the CPU backend does; emit
 * the kernels, the GEMM functions and the weights, descriptor and entry points (aot_module.c)
 * as several LLVM modules for the target CPU, optimised and compiled to object files on
 * several threads (aot_units.c); link them with the runtime (aot_link.c); and
 * write the .so and the header by the output-file rules (runtime/outfile.h), so a failure
 * leaves no partial file at either path.
 *
 * The code is generated for the target alone, never the host: `--target x86-64-v2` gives
 * kernels and a GEMM without AVX, which run on any x86-64 from 2009 on, whatever machine
 * compiled them. The kernel cache is not used: its objects are keyed to the host.
 */
#include "codegen/aot.h"

#include <stdio.h>
#include <string.h>

#include "codegen/aot_units.h"
#include "codegen/cpu.h"
#include "codegen/llvm/llvm.h"
#include "codegen/llvm/target.h"
#include "ir/alloc.h"
#include "ir/type.h"
#include "passes/pass.h"
#include "passes/schedule.h"
#include "runtime/outfile.h"

/* Every param from the weights (MT_ERR_ARG naming an absent one), every state that is there;
 * dtypes and shapes as declared. leaves[] gets one entry per param and state. */
static mt_status bind_weights(const mt_graph *g, const mt_aot_options *o, mt_aot_leaf *leaves,
                              int *n, mt_diag *d)
{
    const char *file = o->weights_path ? o->weights_path : "the weights";
    *n = 0;
    for (int i = 0; i < g->nnodes; i++) {
        const mt_node *nd = &g->nodes[i];
        if (nd->op != MT_OP_PARAM && nd->op != MT_OP_STATE)
            continue;
        const mt_tensor *t = o->weights ? mt_tensor_map_get(o->weights, nd->name) : NULL;
        if (!t && nd->op == MT_OP_PARAM)
            return o->weights ? mt_diag_set(d, MT_ERR_ARG, "%s: missing tensor '%s' for param %%%s",
                                            file, nd->name, nd->name)
                              : mt_diag_set(d, MT_ERR_ARG,
                                            "param %%%s needs a value: give --weights", nd->name);
        if (t && !mt_type_equal(&t->type, &nd->type)) {
            char a[MT_TYPE_STR_MAX], b[MT_TYPE_STR_MAX];
            return mt_diag_set(d, MT_ERR_ARG, "%s: tensor '%s' is %s but %%%s is declared %s", file,
                               nd->name, mt_type_str(&t->type, a, sizeof a), nd->name,
                               mt_type_str(&nd->type, b, sizeof b));
        }
        leaves[(*n)++] = (mt_aot_leaf){i, t ? t->data : NULL};
    }
    return MT_OK;
}

/* The exported symbols of g's ABI. */
static int export_names(const mt_graph *g, char names[][300])
{
    static const char *const run[] = {"run", "abi_version", "signature"};
    static const char *const step[] = {"abi_version", "signature", "state_new", "step",
                                       "state_get",   "state_set", "state_free"};
    int is_step = g->nupdates > 0, n = is_step ? 7 : 3;
    for (int i = 0; i < n; i++)
        snprintf(names[i], 300, "%s_%s", g->name, is_step ? step[i] : run[i]);
    if (mt_aot_has_allreduce(g))
        snprintf(names[n++], 300, "%s_set_allreduce", g->name);
    return n;
}

/* What the entry unit needs to add the baked-in part (aot_units.h's callback). */
typedef struct entry_args {
    const mt_graph *g, *opt;
    const mt_kprog *p;
    const char *prefix, *sig;
    const mt_aot_leaf *leaves;
    int nleaves;
} entry_args;

static mt_status add_entry(void *ctx, mt_llvm_module *m, mt_diag *d)
{
    const entry_args *a = ctx;
    return mt_aot_add_entry(m, a->g, a->opt, a->p, a->prefix, a->leaves, a->nleaves, a->sig, d);
}

/* The kernels, GEMM functions, weights and entry points of g as optimised object files for
 * target t (aot_units.c: compiled on several threads). */
static mt_status build_objects(const mt_graph *g, const mt_cpu_target *t, const mt_aot_leaf *leaves,
                               int nleaves, LLVMMemoryBufferRef **objs, int *nobjs, mt_diag *d)
{
    int npasses;
    const mt_pass *const *passes = mt_passes_default(&npasses);
    mt_graph *opt = NULL;
    mt_kprog *p = NULL;
    char *sig = mt_aot_signature(g);
    char prefix[300];
    snprintf(prefix, sizeof prefix, "%s_", g->name);
    mt_status st = sig ? MT_OK : mt_diag_set(d, MT_ERR_NOMEM, "aot: out of memory");
    if (st == MT_OK)
        st = mt_pipeline_run(g, passes, npasses, NULL, NULL, &opt, d);
    if (st == MT_OK)
        st = mt_schedule(opt, mt_target_desc_cpu(), &p, d);
    if (st == MT_OK) {
        entry_args a = {g, opt, p, prefix, sig, leaves, nleaves};
        st = mt_aot_build_objects(p, prefix, t, add_entry, &a, objs, nobjs, d);
    }
    mt_kprog_free(p);
    mt_graph_free(opt);
    mt_free(sig);
    return st;
}

/* The last component of path. */
static const char *base_name(const char *path)
{
    const char *s = strrchr(path, '/');
    return s ? s + 1 : path;
}

mt_status mt_aot_compile(const mt_graph *g, const mt_aot_options *o, mt_diag *d)
{
    if (mt_graph_diag(g)->status != MT_OK)
        return mt_diag_set(d, MT_ERR_ARG, "aot: the graph has a builder error: %s",
                           mt_graph_diag(g)->msg);
    mt_cpu_target named;
    const mt_cpu_target *t = mt_cpu_target_host();
    if (o->cpu) {
        mt_status st = mt_cpu_target_from_name(o->cpu, &named, d);
        if (st != MT_OK)
            return st;
        t = &named;
    }
    mt_aot_leaf *leaves = mt_calloc((size_t)g->nnodes + 1, sizeof *leaves);
    if (!leaves)
        return mt_diag_set(d, MT_ERR_NOMEM, "aot: out of memory");
    int nleaves = 0;
    LLVMMemoryBufferRef *objs = NULL;
    int nobjs = 0;
    void *so = NULL;
    size_t so_len = 0;
    char *header = NULL;
    mt_status st = bind_weights(g, o, leaves, &nleaves, d);
    if (st == MT_OK)
        st = build_objects(g, t, leaves, nleaves, &objs, &nobjs, d);
    mt_span *parts = st == MT_OK ? mt_calloc((size_t)nobjs + 1, sizeof *parts) : NULL;
    if (st == MT_OK && !parts)
        st = mt_diag_set(d, MT_ERR_NOMEM, "aot: out of memory");
    if (st == MT_OK) {
        for (int i = 0; i < nobjs; i++)
            parts[i] = (mt_span){LLVMGetBufferStart(objs[i]), LLVMGetBufferSize(objs[i])};
        char names[8][300];
        const char *exports[8];
        int n = export_names(g, names);
        for (int i = 0; i < n; i++)
            exports[i] = names[i];
        st = mt_aot_link(parts, nobjs, base_name(o->so_path), exports, n, &so, &so_len, d);
    }
    if (st == MT_OK && o->header_path && !(header = mt_aot_header(g)))
        st = mt_diag_set(d, MT_ERR_NOMEM, "aot: out of memory");
    if (st == MT_OK) {
        mt_span part = {so, so_len};
        st = mt_outfile_write(o->so_path, &part, 1, d);
    }
    if (st == MT_OK && header) {
        mt_span part = {header, strlen(header)};
        st = mt_outfile_write(o->header_path, &part, 1, d);
    }
    for (int i = 0; i < nobjs; i++)
        LLVMDisposeMemoryBuffer(objs[i]);
    mt_free(objs);
    mt_free(parts);
    mt_free(so);
    mt_free(header);
    mt_free(leaves);
    return st;
}
