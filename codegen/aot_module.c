/* aot_module.c - the parts of a compiled model's LLVM module beyond its kernels (aot.h).
 *
 * The kernels come from emit.c as for the JIT, in modules of their own (aot_units.c), so the
 * entry module declares the ones it points at. This file adds, as constants the loader maps
 * read-only: every param's (and initial state's) bytes, 64-byte aligned; the program's
 * descriptor in the layout of codegen/aotrt/aotrt.h (buffers, kernels with their entry points,
 * outputs, updates, named params and state, the signature); and the exported functions of
 * SPEC section 5, each a call of the runtime with the descriptor. Nothing is mutable: the .so
 * has no writable data of its own but the runtime's pool and key.
 */
#include <stdio.h>
#include <string.h>

#include "codegen/aot.h"
#include "codegen/aotrt/aotrt.h"
#include "codegen/llvm/llvm.h"
#include "ir/alloc.h"

typedef struct builder {
    LLVMContextRef C;
    LLVMModuleRef M;
    LLVMTypeRef i32, i64, ptr, pptr, buf_t, kernel_t, named_t, prog_t;
    LLVMTypeRef kernel_fn_t; /* void (i8 **bufs, i64 begin, i64 end): llvm.h's kernel ABI */
    const char *prefix;
    int nglobals; /* for private names */
} builder;

static LLVMValueRef c64(builder *b, int64_t v)
{
    return LLVMConstInt(b->i64, (unsigned long long)v, 1);
}

static LLVMValueRef as_ptr(builder *b, LLVMValueRef v) { return LLVMConstBitCast(v, b->ptr); }

/* A private constant global holding `init`, aligned to `align`. */
static LLVMValueRef constant(builder *b, LLVMValueRef init, unsigned align)
{
    char name[64];
    snprintf(name, sizeof name, "mtc.aot.%d", b->nglobals++);
    LLVMValueRef g = LLVMAddGlobal(b->M, LLVMTypeOf(init), name);
    LLVMSetInitializer(g, init);
    LLVMSetGlobalConstant(g, 1);
    LLVMSetLinkage(g, LLVMPrivateLinkage);
    LLVMSetAlignment(g, align);
    return g;
}

static LLVMValueRef string(builder *b, const char *s)
{
    return as_ptr(b, constant(b, LLVMConstStringInContext(b->C, s, (unsigned)strlen(s), 0), 1));
}

/* `bytes` of data (zeros when NULL), 64-byte aligned. */
static LLVMValueRef blob(builder *b, const void *data, int64_t bytes)
{
    LLVMValueRef init =
        data ? LLVMConstStringInContext(b->C, data, (unsigned)bytes, 1)
             : LLVMConstNull(LLVMArrayType(LLVMInt8TypeInContext(b->C), (unsigned)bytes));
    return as_ptr(b, constant(b, init, MTRT_ALIGN));
}

/* A constant array of n elements of type t as a pointer, or NULL when empty. */
static LLVMValueRef array(builder *b, LLVMTypeRef t, LLVMValueRef *v, int64_t n)
{
    if (n == 0)
        return LLVMConstNull(b->ptr);
    return as_ptr(b, constant(b, LLVMConstArray(t, v, (unsigned)n), 8));
}

static LLVMValueRef record(builder *b, LLVMTypeRef t, LLVMValueRef *fields, unsigned n)
{
    (void)t;
    return LLVMConstStructInContext(b->C, fields, n, 0);
}

static void make_types(builder *b)
{
    b->i32 = LLVMInt32TypeInContext(b->C);
    b->i64 = LLVMInt64TypeInContext(b->C);
    b->ptr = LLVMPointerType(LLVMInt8TypeInContext(b->C), 0);
    b->pptr = LLVMPointerType(b->ptr, 0);
    LLVMTypeRef buf[5] = {b->i64, b->i64, b->i64, b->i64, b->ptr};
    b->buf_t = LLVMStructTypeInContext(b->C, buf, 5, 0);
    LLVMTypeRef kernel[9] = {b->ptr, b->i64, b->i64, b->i64, b->i64,
                             b->i64, b->i64, b->i64, b->i64};
    b->kernel_t = LLVMStructTypeInContext(b->C, kernel, 9, 0);
    LLVMTypeRef named[4] = {b->ptr, b->i64, b->i64, b->ptr};
    b->named_t = LLVMStructTypeInContext(b->C, named, 4, 0);
    LLVMTypeRef kp[3] = {b->pptr, b->i64, b->i64};
    b->kernel_fn_t = LLVMFunctionType(LLVMVoidTypeInContext(b->C), kp, 3, 0);
}

static int64_t round_up(int64_t x) { return (x + MTRT_ALIGN - 1) / MTRT_ALIGN * MTRT_ALIGN; }

static int64_t bytes_of(const mt_type *t)
{
    return mt_type_numel(t) * (int64_t)mt_dtype_size(t->dtype);
}

/* The position of leaf `name` among g's leaves of kind op, or -1. */
static int leaf_index(const mt_graph *g, mt_op op, const char *name)
{
    int at = 0;
    for (int i = 0; i < g->nnodes; i++) {
        if (g->nodes[i].op != op)
            continue;
        if (strcmp(g->nodes[i].name, name) == 0)
            return at;
        at++;
    }
    return -1;
}

static const void *leaf_data(const mt_aot_leaf *leaves, int n, int node)
{
    for (int i = 0; i < n; i++)
        if (leaves[i].node == node)
            return leaves[i].data;
    return NULL;
}

/* The named table of a step graph: every param and state of g, in declaration order, each
 * at a 64-byte boundary of the state block. offsets[node of g] is its offset. */
static LLVMValueRef named_table(builder *b, const mt_graph *g, const mt_aot_leaf *leaves,
                                int nleaves, int64_t *offsets, int64_t *nnamed,
                                int64_t *state_bytes)
{
    LLVMValueRef *v = mt_calloc((size_t)g->nnodes + 1, sizeof *v);
    if (!v)
        return NULL;
    int64_t n = 0, at = 0;
    for (int i = 0; i < g->nnodes; i++) {
        const mt_node *nd = &g->nodes[i];
        if (nd->op != MT_OP_PARAM && nd->op != MT_OP_STATE)
            continue;
        const void *data = leaf_data(leaves, nleaves, i);
        int64_t bytes = bytes_of(&nd->type);
        LLVMValueRef f[4] = {string(b, nd->name), c64(b, at), c64(b, bytes),
                             data ? blob(b, data, bytes) : LLVMConstNull(b->ptr)};
        v[n++] = record(b, b->named_t, f, 4);
        offsets[i] = at;
        at += round_up(bytes);
    }
    LLVMValueRef t = array(b, b->named_t, v, n);
    mt_free(v);
    *nnamed = n;
    *state_bytes = at;
    return t;
}

static LLVMValueRef buffer_table(builder *b, const mt_graph *g, const mt_graph *opt,
                                 const mt_kprog *p, int step, const mt_aot_leaf *leaves,
                                 int nleaves, const int64_t *offsets, mt_diag *d)
{
    LLVMValueRef *v = mt_calloc((size_t)p->nbufs + 1, sizeof *v);
    if (!v)
        return NULL;
    for (int i = 0; i < p->nbufs; i++) {
        const mt_kbuf *u = &p->bufs[i];
        int64_t bytes = u->numel * (int64_t)mt_dtype_size(u->type.dtype);
        int64_t kind = MTRT_NONE, index = 0;
        LLVMValueRef data = LLVMConstNull(b->ptr);
        const mt_node *nd = u->node >= 0 && u->node < opt->nnodes ? &opt->nodes[u->node] : NULL;
        switch (u->kind) {
        case MT_KBUF_INPUT:
        case MT_KBUF_STATE: {
            int id = nd ? mt_graph_find(g, nd->name) : -1;
            if (!nd || !mt_op_is(nd->op, MT_F_LEAF) || id < 0) {
                mt_free(v);
                mt_diag_set(d, MT_ERR_INTERNAL, "aot: buffer %%%s is bound but not a leaf",
                            u->name);
                return NULL;
            }
            if (nd->op == MT_OP_INPUT) {
                kind = MTRT_INPUT;
                index = leaf_index(g, MT_OP_INPUT, nd->name);
            } else if (step) {
                kind = MTRT_STATE;
                index = offsets[id];
            } else {
                kind = MTRT_CONST;
                data = blob(b, leaf_data(leaves, nleaves, id), bytes);
            }
            break;
        }
        case MT_KBUF_OUTPUT:
            kind = MTRT_OUTPUT;
            index = u->output;
            break;
        case MT_KBUF_TEMP:
            kind = u->offset >= 0 ? MTRT_TEMP : MTRT_NONE;
            index = u->offset;
            break;
        }
        LLVMValueRef f[5] = {c64(b, kind), c64(b, index), c64(b, bytes),
                             c64(b, (int64_t)mt_dtype_size(u->type.dtype)), data};
        v[i] = record(b, b->buf_t, f, 5);
    }
    LLVMValueRef t = array(b, b->buf_t, v, p->nbufs);
    mt_free(v);
    return t;
}

static LLVMValueRef kernel_table(builder *b, const mt_kprog *p, mt_diag *d)
{
    LLVMValueRef *v = mt_calloc((size_t)p->nkernels + 1, sizeof *v);
    if (!v)
        return NULL;
    for (int i = 0; i < p->nkernels; i++) {
        const mt_kernel *k = &p->kernels[i];
        char name[256];
        snprintf(name, sizeof name, "%s%s", b->prefix, k->name);
        /* The kernels are compiled in other units (aot_units.c): declare what is not here. */
        LLVMValueRef fn = LLVMGetNamedFunction(b->M, name);
        if (!fn)
            fn = LLVMAddFunction(b->M, name, b->kernel_fn_t);
        if (!fn) {
            mt_free(v);
            mt_diag_set(d, MT_ERR_INTERNAL, "aot: no function for kernel %s", k->name);
            return NULL;
        }
        const mt_kgemm *g = mt_kernel_gemm(k);
        int64_t q = p->exec.gemm_rows > 0 ? p->exec.gemm_rows : 1;
        const mt_kbuf *ab = k->allreduce ? &p->bufs[k->allreduce_buf] : NULL;
        LLVMValueRef f[9] = {as_ptr(b, fn),
                             c64(b, mt_kernel_is_parallel(k) ? k->body->trip : 0),
                             c64(b, k->work),
                             c64(b, g ? q : 0),
                             c64(b, g ? mt_kgemm_row_macs(g) : 0),
                             c64(b, ab ? 1 + k->allreduce_op : 0),
                             c64(b, ab ? k->allreduce_buf : 0),
                             c64(b, ab ? ab->numel : 0),
                             c64(b, ab && ab->type.dtype == MT_DTYPE_F64 ? 1 : 0)};
        v[i] = record(b, b->kernel_t, f, 9);
    }
    LLVMValueRef t = array(b, b->kernel_t, v, p->nkernels);
    mt_free(v);
    return t;
}

static LLVMValueRef int_array(builder *b, const int64_t *x, int64_t n)
{
    LLVMValueRef *v = mt_calloc((size_t)n + 1, sizeof *v);
    if (!v)
        return NULL;
    for (int64_t i = 0; i < n; i++)
        v[i] = c64(b, x[i]);
    LLVMValueRef t = array(b, b->i64, v, n);
    mt_free(v);
    return t;
}

/* ---- exported functions ---------------------------------------------------------------- */

/* `ret NAME_suffix(params...)` calling `ret rt(prog, params...)`, or returning `value` when
 * rt is NULL. */
static void export(builder *b, const char *suffix, LLVMTypeRef ret, LLVMTypeRef *params, unsigned n,
                   const char *rt, LLVMValueRef prog, LLVMValueRef value, const char *graph)
{
    char name[512];
    snprintf(name, sizeof name, "%s_%s", graph, suffix);
    LLVMValueRef fn = LLVMAddFunction(b->M, name, LLVMFunctionType(ret, params, n, 0));
    unsigned kind = LLVMGetEnumAttributeKindForName("nounwind", 8);
    LLVMAddAttributeAtIndex(fn, LLVMAttributeFunctionIndex, LLVMCreateEnumAttribute(b->C, kind, 0));
    LLVMBuilderRef B = LLVMCreateBuilderInContext(b->C);
    LLVMPositionBuilderAtEnd(B, LLVMAppendBasicBlockInContext(b->C, fn, "entry"));
    if (!rt) {
        LLVMBuildRet(B, value);
        LLVMDisposeBuilder(B);
        return;
    }
    /* The runtime function takes the descriptor first, unless it is state_free. */
    int with_prog = prog != NULL;
    LLVMTypeRef rp[8];
    LLVMValueRef args[8];
    unsigned m = 0;
    if (with_prog) {
        rp[m] = b->ptr;
        args[m++] = prog;
    }
    for (unsigned i = 0; i < n; i++) {
        rp[m] = params[i];
        args[m++] = LLVMGetParam(fn, i);
    }
    LLVMTypeRef rt_t = LLVMFunctionType(ret, rp, m, 0);
    LLVMValueRef callee = LLVMGetNamedFunction(b->M, rt);
    if (!callee)
        callee = LLVMAddFunction(b->M, rt, rt_t);
    LLVMValueRef r = LLVMBuildCall2(B, rt_t, callee, args, m, "");
    if (LLVMGetTypeKind(ret) == LLVMVoidTypeKind)
        LLVMBuildRetVoid(B);
    else
        LLVMBuildRet(B, r);
    LLVMDisposeBuilder(B);
}

static void exports(builder *b, const char *graph, int step, int collective, LLVMValueRef prog,
                    LLVMValueRef sig)
{
    LLVMTypeRef v = LLVMVoidTypeInContext(b->C);
    if (collective) { /* the caller's MPI or NCCL does the graph's allreduce */
        LLVMTypeRef hook[2] = {b->ptr, b->ptr};
        export(b, "set_allreduce", v, hook, 2, "mtrt_set_allreduce", NULL, NULL, graph);
    }
    export(b, "abi_version", b->i32, NULL, 0, NULL, NULL, LLVMConstInt(b->i32, MTRT_ABI_VERSION, 0),
           graph);
    export(b, "signature", b->ptr, NULL, 0, NULL, NULL, sig, graph);
    LLVMTypeRef run[2] = {b->pptr, b->pptr};
    if (!step) {
        export(b, "run", b->i32, run, 2, "mtrt_run", prog, NULL, graph);
        return;
    }
    LLVMTypeRef stepp[3] = {b->ptr, b->pptr, b->pptr};
    LLVMTypeRef access[4] = {b->ptr, b->ptr, b->ptr, b->i64};
    LLVMTypeRef one[1] = {b->ptr};
    export(b, "state_new", b->ptr, NULL, 0, "mtrt_state_new", prog, NULL, graph);
    export(b, "step", b->i32, stepp, 3, "mtrt_step", prog, NULL, graph);
    export(b, "state_get", b->i32, access, 4, "mtrt_state_get", prog, NULL, graph);
    export(b, "state_set", b->i32, access, 4, "mtrt_state_set", prog, NULL, graph);
    export(b, "state_free", v, one, 1, "mtrt_state_free", NULL, NULL, graph);
}

int mt_aot_has_allreduce(const mt_graph *g)
{
    for (int i = 0; i < g->nnodes; i++)
        if (mt_op_is(g->nodes[i].op, MT_F_COLLECTIVE))
            return 1;
    return 0;
}

mt_status mt_aot_add_entry(mt_llvm_module *m, const mt_graph *g, const mt_graph *opt,
                           const mt_kprog *p, const char *prefix, const mt_aot_leaf *leaves,
                           int nleaves, const char *signature, mt_diag *d)
{
    builder b = {.C = m->ctx, .M = m->mod, .prefix = prefix};
    make_types(&b);
    int step = g->nupdates > 0;
    int64_t *offsets = mt_calloc((size_t)g->nnodes + 1, sizeof *offsets);
    int64_t *outs = mt_calloc((size_t)p->noutputs + 1, sizeof *outs);
    int64_t *ups = mt_calloc(2 * (size_t)p->nupdates + 1, sizeof *ups);
    if (!offsets || !outs || !ups) {
        mt_free(offsets);
        mt_free(outs);
        mt_free(ups);
        return mt_diag_set(d, MT_ERR_NOMEM, "aot: out of memory");
    }
    for (int i = 0; i < p->noutputs; i++)
        outs[i] = p->outputs[i];
    for (int i = 0; i < p->nupdates; i++) {
        ups[2 * i] = p->updates[i].target;
        ups[2 * i + 1] = p->updates[i].value;
    }
    int64_t nnamed = 0, state_bytes = 0, ninputs = 0;
    for (int i = 0; i < g->nnodes; i++)
        ninputs += g->nodes[i].op == MT_OP_INPUT;
    LLVMValueRef named = step ? named_table(&b, g, leaves, nleaves, offsets, &nnamed, &state_bytes)
                              : LLVMConstNull(b.ptr);
    LLVMValueRef bufs =
        named ? buffer_table(&b, g, opt, p, step, leaves, nleaves, offsets, d) : NULL;
    LLVMValueRef kernels = bufs ? kernel_table(&b, p, d) : NULL;
    LLVMValueRef outputs = int_array(&b, outs, p->noutputs);
    LLVMValueRef updates = int_array(&b, ups, 2 * (int64_t)p->nupdates);
    mt_free(offsets);
    mt_free(outs);
    mt_free(ups);
    if (!named || !bufs || !kernels || !outputs || !updates)
        return d && d->status != MT_OK ? d->status
                                       : mt_diag_set(d, MT_ERR_NOMEM, "aot: out of memory");
    LLVMValueRef sig = string(&b, signature);
    LLVMValueRef f[18] = {c64(&b, MTRT_ABI_VERSION),
                          c64(&b, p->nbufs),
                          c64(&b, p->nkernels),
                          c64(&b, ninputs),
                          c64(&b, p->noutputs),
                          c64(&b, p->nupdates),
                          c64(&b, nnamed),
                          c64(&b, p->arena_bytes),
                          c64(&b, state_bytes),
                          c64(&b, p->exec.parallel),
                          c64(&b, p->exec.min_parallel_work),
                          c64(&b, p->exec.min_gemm_macs),
                          bufs,
                          kernels,
                          outputs,
                          updates,
                          named,
                          sig};
    LLVMValueRef prog = as_ptr(&b, constant(&b, LLVMConstStructInContext(b.C, f, 18, 0), 8));
    exports(&b, g->name, step, mt_aot_has_allreduce(g), prog, sig);
    return MT_OK;
}
