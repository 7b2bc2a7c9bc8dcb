/* emit.c - kernel IR -> an LLVM module, through the LLVM-C API.
 *
 * Each kernel becomes two functions: an internal body taking one pointer per buffer it uses
 * (marked noalias where memory planning proved no overlap, so loops vectorize without
 * run-time alias checks) and the exported entry point of the kernel ABI (llvm.h), which loads
 * the pointers from the buffer table and calls the body; O3 inlines it.
 *
 * Loops have exact, constant trip counts and are bottom-tested (every trip is >= 1); the
 * parallel outer loop runs [begin, end) instead. Scalars live in allocas that mem2reg turns
 * into registers. Reduction loops carry `llvm.loop.vectorize.enable`, which lets the loop
 * vectorizer reassociate their sums (the order is fixed per kernel, never per thread count).
 * General loop unrolling is off (opt.c): the vectorizer interleaves on its own, and fully
 * unrolled constant-trip loops made compilation quadratic in the scheduler.
 * Float math maps to LLVM intrinsics (llvm.exp.f32, ...) except tanh, a call to libm's
 * tanhf/tanh. Nothing here knows about graph ops: one scalar operation at a time.
 *
 * A GEMM statement (a matmul's rows, ir/kernel.h) becomes a call of a packed,
 * register-blocked GEMM emitted into the module for its shape (codegen/llvm/gemm.c): one call
 * for all the rows of a loop that starts with it, before the loop (which then runs only the
 * epilogue), else one call per row.
 */
#include <llvm-c/Analysis.h>
#include <llvm-c/DebugInfo.h>
#include <llvm-c/Orc.h>
#include <stdio.h>
#include <string.h>

#include "codegen/llvm/gemm.h"
#include "codegen/llvm/llvm.h"
#include "ir/alloc.h"
#include "ir/type.h"

typedef struct memo_slot {
    const mt_kexpr *key;
    LLVMValueRef value;
} memo_slot;

#define MEMO_SIZE 1024 /* power of two; a statement with more nodes just stops memoizing */

typedef struct emitter {
    LLVMContextRef C;
    LLVMModuleRef M;
    LLVMBuilderRef B;
    const mt_kprog *p;
    const mt_kernel *k;
    LLVMValueRef fn;
    LLVMValueRef *bufptr; /* per program buffer: the body's parameter, NULL if unused */
    LLVMValueRef *loopval;
    LLVMValueRef *scalar; /* allocas */
    LLVMValueRef begin, end;
    LLVMTypeRef t_void, t_i1, t_i32, t_i64, t_f32, t_f64, t_ptr;
    memo_slot memo[MEMO_SIZE];
    int nmemo;
    const char *prefix;
    int ngemm;      /* GEMM functions of the current kernel */
    mt_status fail; /* a GEMM the emitter refused (d has the message), else MT_OK */
    mt_diag *d;
} emitter;

static LLVMTypeRef ltype(const emitter *e, mt_ktype t)
{
    switch (t) {
    case MT_KT_BOOL: return e->t_i1;
    case MT_KT_U32: return e->t_i32;
    case MT_KT_I64:
    case MT_KT_U64: return e->t_i64;
    case MT_KT_F32: return e->t_f32;
    case MT_KT_F64: return e->t_f64;
    }
    return e->t_i64;
}

static int is_float(mt_ktype t) { return t == MT_KT_F32 || t == MT_KT_F64; }
static int bits(mt_ktype t) { return t == MT_KT_BOOL ? 1 : t == MT_KT_U32 ? 32 : 64; }

/* ---- declarations ---------------------------------------------------------------------- */

static void add_attr(emitter *e, LLVMValueRef fn, LLVMAttributeIndex at, const char *name)
{
    unsigned kind = LLVMGetEnumAttributeKindForName(name, strlen(name));
    LLVMAddAttributeAtIndex(fn, at, LLVMCreateEnumAttribute(e->C, kind, 0));
}

/* A math function of one or two operands of type t: an intrinsic or a libm function. */
static LLVMValueRef math_fn(emitter *e, const char *base, mt_ktype t, int nargs, LLVMTypeRef *ft)
{
    char name[64];
    int libm = !strcmp(base, "tanh");
    if (libm)
        snprintf(name, sizeof name, "%s%s", base, t == MT_KT_F32 ? "f" : "");
    else
        snprintf(name, sizeof name, "llvm.%s.%s", base, t == MT_KT_F32 ? "f32" : "f64");
    LLVMTypeRef args[2] = {ltype(e, t), ltype(e, t)};
    *ft = LLVMFunctionType(ltype(e, t), args, (unsigned)nargs, 0);
    LLVMValueRef fn = LLVMGetNamedFunction(e->M, name);
    if (!fn) {
        fn = LLVMAddFunction(e->M, name, *ft);
        if (libm) {
            /* As with -fno-math-errno: a pure function, so loops around it can be
             * optimised. */
            add_attr(e, fn, LLVMAttributeFunctionIndex, "nounwind");
            add_attr(e, fn, LLVMAttributeFunctionIndex, "readnone");
            add_attr(e, fn, LLVMAttributeFunctionIndex, "willreturn");
        }
    }
    return fn;
}

static LLVMValueRef call_math(emitter *e, const char *base, mt_ktype t, LLVMValueRef a,
                              LLVMValueRef b)
{
    LLVMTypeRef ft;
    LLVMValueRef fn = math_fn(e, base, t, b ? 2 : 1, &ft);
    LLVMValueRef args[2] = {a, b};
    return LLVMBuildCall2(e->B, ft, fn, args, b ? 2 : 1, "");
}

/* ---- expressions ----------------------------------------------------------------------- */

static LLVMValueRef memo_get(emitter *e, const mt_kexpr *x)
{
    size_t h = ((uintptr_t)x >> 4) & (MEMO_SIZE - 1);
    for (size_t i = 0; i < MEMO_SIZE; i++, h = (h + 1) & (MEMO_SIZE - 1)) {
        if (!e->memo[h].key)
            return NULL;
        if (e->memo[h].key == x)
            return e->memo[h].value;
    }
    return NULL;
}

static void memo_put(emitter *e, const mt_kexpr *x, LLVMValueRef v)
{
    if (e->nmemo >= MEMO_SIZE / 2)
        return;
    size_t h = ((uintptr_t)x >> 4) & (MEMO_SIZE - 1);
    while (e->memo[h].key)
        h = (h + 1) & (MEMO_SIZE - 1);
    e->memo[h].key = x;
    e->memo[h].value = v;
    e->nmemo++;
}

static void memo_clear(emitter *e)
{
    memset(e->memo, 0, sizeof e->memo);
    e->nmemo = 0;
}

static LLVMValueRef expr(emitter *e, const mt_kexpr *x);

static LLVMValueRef cast(emitter *e, LLVMValueRef v, mt_ktype from, mt_ktype to)
{
    LLVMTypeRef t = ltype(e, to);
    if (is_float(from) && is_float(to))
        return to == MT_KT_F64 ? LLVMBuildFPExt(e->B, v, t, "") : LLVMBuildFPTrunc(e->B, v, t, "");
    if (is_float(to))
        return from == MT_KT_I64 ? LLVMBuildSIToFP(e->B, v, t, "")
                                 : LLVMBuildUIToFP(e->B, v, t, "");
    if (is_float(from))
        return to == MT_KT_I64 ? LLVMBuildFPToSI(e->B, v, t, "") : LLVMBuildFPToUI(e->B, v, t, "");
    if (bits(to) < bits(from))
        return LLVMBuildTrunc(e->B, v, t, "");
    if (bits(to) > bits(from))
        return from == MT_KT_I64 ? LLVMBuildSExt(e->B, v, t, "") : LLVMBuildZExt(e->B, v, t, "");
    return v; /* i64 <-> u64: the same bits */
}

static LLVMValueRef compare(emitter *e, mt_kop op, mt_ktype t, LLVMValueRef a, LLVMValueRef b)
{
    if (is_float(t)) {
        LLVMRealPredicate pr = op == MT_KX_LT   ? LLVMRealOLT
                               : op == MT_KX_LE ? LLVMRealOLE
                               : op == MT_KX_GT ? LLVMRealOGT
                               : op == MT_KX_GE ? LLVMRealOGE
                               : op == MT_KX_EQ ? LLVMRealOEQ
                                                : LLVMRealUNE;
        return LLVMBuildFCmp(e->B, pr, a, b, "");
    }
    int sgn = t == MT_KT_I64;
    LLVMIntPredicate pr = op == MT_KX_LT   ? (sgn ? LLVMIntSLT : LLVMIntULT)
                          : op == MT_KX_LE ? (sgn ? LLVMIntSLE : LLVMIntULE)
                          : op == MT_KX_GT ? (sgn ? LLVMIntSGT : LLVMIntUGT)
                          : op == MT_KX_GE ? (sgn ? LLVMIntSGE : LLVMIntUGE)
                          : op == MT_KX_EQ ? LLVMIntEQ
                                           : LLVMIntNE;
    return LLVMBuildICmp(e->B, pr, a, b, "");
}

static LLVMValueRef binary(emitter *e, const mt_kexpr *x, LLVMValueRef a, LLVMValueRef b)
{
    mt_ktype t = x->args[0]->type;
    int fl = is_float(t);
    LLVMBuilderRef B = e->B;
    switch (x->op) {
    case MT_KX_ADD: return fl ? LLVMBuildFAdd(B, a, b, "") : LLVMBuildAdd(B, a, b, "");
    case MT_KX_SUB: return fl ? LLVMBuildFSub(B, a, b, "") : LLVMBuildSub(B, a, b, "");
    case MT_KX_MUL: return fl ? LLVMBuildFMul(B, a, b, "") : LLVMBuildMul(B, a, b, "");
    case MT_KX_DIV: return fl ? LLVMBuildFDiv(B, a, b, "") : LLVMBuildUDiv(B, a, b, "");
    case MT_KX_MOD: return LLVMBuildURem(B, a, b, "");
    case MT_KX_MIN: return LLVMBuildSelect(B, compare(e, MT_KX_LT, t, a, b), a, b, "");
    case MT_KX_MAX: return LLVMBuildSelect(B, compare(e, MT_KX_GT, t, a, b), a, b, "");
    case MT_KX_POW: return call_math(e, "pow", t, a, b);
    case MT_KX_AND: return LLVMBuildAnd(B, a, b, "");
    case MT_KX_OR: return LLVMBuildOr(B, a, b, "");
    case MT_KX_XOR: return LLVMBuildXor(B, a, b, "");
    case MT_KX_SHL: return LLVMBuildShl(B, a, b, "");
    case MT_KX_SHR: return LLVMBuildLShr(B, a, b, "");
    case MT_KX_MULHI: {
        LLVMValueRef p = LLVMBuildMul(B, LLVMBuildZExt(B, a, e->t_i64, ""),
                                      LLVMBuildZExt(B, b, e->t_i64, ""), "");
        return LLVMBuildTrunc(B, LLVMBuildLShr(B, p, LLVMConstInt(e->t_i64, 32, 0), ""), e->t_i32,
                              "");
    }
    default: return compare(e, x->op, t, a, b);
    }
}

static LLVMValueRef expr_uncached(emitter *e, const mt_kexpr *x)
{
    LLVMBuilderRef B = e->B;
    switch (x->op) {
    case MT_KX_CONST:
        if (is_float(x->type))
            return LLVMConstReal(ltype(e, x->type), x->c.f);
        return LLVMConstInt(ltype(e, x->type), (unsigned long long)x->c.i, x->type == MT_KT_I64);
    case MT_KX_VAR: return e->loopval[x->id];
    case MT_KX_SCALAR: return LLVMBuildLoad2(B, ltype(e, x->type), e->scalar[x->id], "");
    case MT_KX_LOAD: {
        LLVMTypeRef t = ltype(e, x->type);
        LLVMValueRef idx = expr(e, x->args[0]);
        LLVMValueRef at = LLVMBuildGEP2(B, t, e->bufptr[x->id], &idx, 1, "");
        LLVMValueRef v = LLVMBuildLoad2(B, t, at, "");
        LLVMSetAlignment(v, x->type == MT_KT_F64 ? 8 : 4);
        return v;
    }
    case MT_KX_CAST: return cast(e, expr(e, x->args[0]), x->args[0]->type, x->type);
    case MT_KX_SELECT:
        return LLVMBuildSelect(B, expr(e, x->args[0]), expr(e, x->args[1]), expr(e, x->args[2]),
                               "");
    default: break;
    }
    LLVMValueRef a = expr(e, x->args[0]);
    if (x->nargs == 2)
        return binary(e, x, a, expr(e, x->args[1]));
    switch (x->op) {
    case MT_KX_NEG: return is_float(x->type) ? LLVMBuildFNeg(B, a, "") : LLVMBuildNeg(B, a, "");
    case MT_KX_NOT: return LLVMBuildNot(B, a, "");
    case MT_KX_EXP: return call_math(e, "exp", x->type, a, NULL);
    case MT_KX_LOG: return call_math(e, "log", x->type, a, NULL);
    case MT_KX_SQRT: return call_math(e, "sqrt", x->type, a, NULL);
    case MT_KX_ABS: return call_math(e, "fabs", x->type, a, NULL);
    case MT_KX_TANH: return call_math(e, "tanh", x->type, a, NULL);
    default: return a; /* unreachable: every operation is handled above */
    }
}

static LLVMValueRef expr(emitter *e, const mt_kexpr *x)
{
    LLVMValueRef v = memo_get(e, x);
    if (v)
        return v;
    v = expr_uncached(e, x);
    memo_put(e, x, v);
    return v;
}

/* ---- matrix products ------------------------------------------------------------------- */

/* The emitter's descriptor of product g, whose result C has type tc. The batch axes are C's:
 * an operand broadcast along one (size 1, missing, or an expand that was never copied) reads
 * it with stride 0. */
static mt_status gemm_desc(const mt_kgemm *g, const mt_type *tc, mt_llvm_gemm_desc *d,
                           mt_diag *diag)
{
    mt_status st = mt_llvm_gemm_desc_matmul(d, &g->ta, &g->tb, g->trans_a, g->trans_b, diag);
    if (st != MT_OK)
        return st;
    int r = tc->rank;
    if (r < 2 || tc->dims[r - 2] != d->M || tc->dims[r - 1] != d->N)
        return mt_diag_set(diag, MT_ERR_INTERNAL, "llvm: a product does not fit its result");
    mt_type bc = *tc, ba = g->ta, bb = g->tb;
    bc.rank -= 2;
    ba.rank -= 2;
    bb.rank -= 2;
    int64_t sa[MT_MAX_RANK], sb[MT_MAX_RANK], sc[MT_MAX_RANK];
    mt_broadcast_strides(&ba, &bc, sa);
    mt_broadcast_strides(&bb, &bc, sb);
    mt_type_strides(&bc, sc);
    d->nbatch = bc.rank;
    for (int i = 0; i < bc.rank; i++) {
        d->batch_dims[i] = bc.dims[i];
        d->batch_a[i] = sa[i] * d->M * d->K;
        d->batch_b[i] = sb[i] * d->K * d->N;
        d->batch_c[i] = sc[i] * d->M * d->N;
    }
    return MT_OK;
}

/* Rows [lo, hi) of the product of GEMM statement s: a call of its own function, emitted into
 * the module here (codegen/llvm/gemm.c), with the packed panels on the calling thread's stack. */
static void call_gemm(emitter *e, const mt_kstmt *s, LLVMValueRef lo, LLVMValueRef hi)
{
    const mt_kgemm *g = s->gemm;
    mt_llvm_gemm_desc desc;
    char name[256];
    snprintf(name, sizeof name, "%s%s.mm%d", e->prefix, e->k->name, e->ngemm++);
    LLVMValueRef fn = NULL;
    mt_status st = gemm_desc(g, &e->p->bufs[g->c].type, &desc, e->d);
    if (st == MT_OK)
        st = mt_llvm_gemm_emit(e->M, name, &desc, &fn, e->d);
    if (st != MT_OK) {
        if (e->fail == MT_OK)
            e->fail = st;
        return;
    }
    /* One call per kernel invocation: not worth inlining, and a call keeps the dynamic
     * alloca of its panels out of the caller's loops. */
    LLVMSetLinkage(fn, LLVMInternalLinkage);
    add_attr(e, fn, LLVMAttributeFunctionIndex, "noinline");
    LLVMValueRef args[6] = {e->bufptr[g->a],        e->bufptr[g->b], e->bufptr[g->c], lo, hi,
                            LLVMConstNull(e->t_ptr)};
    LLVMBuildCall2(e->B, LLVMGlobalGetValueType(fn), fn, args, 6, "");
}

/* ---- statements ------------------------------------------------------------------------ */

/* !{!"llvm.loop.vectorize.enable", i1 true} inside a distinct self-referencing loop id. */
static LLVMValueRef vectorize_loop_id(emitter *e)
{
    LLVMMetadataRef tmp = LLVMTemporaryMDNode(e->C, NULL, 0);
    const char *key = "llvm.loop.vectorize.enable";
    LLVMMetadataRef kv[2] = {LLVMMDStringInContext2(e->C, key, strlen(key)),
                             LLVMValueAsMetadata(LLVMConstInt(e->t_i1, 1, 0))};
    LLVMMetadataRef ops[2] = {tmp, LLVMMDNodeInContext2(e->C, kv, 2)};
    LLVMMetadataRef id = LLVMMDNodeInContext2(e->C, ops, 2);
    LLVMMetadataReplaceAllUsesWith(tmp, id);
    return LLVMMetadataAsValue(e->C, id);
}

static void block(emitter *e, const mt_kstmt *s, int top);

/* Do all the accumulations under s add to their scalar? Only such loops ask the vectorizer
 * to reassociate: a max with NaN propagation is not a reduction it recognises. */
static int sums_only(const mt_kstmt *s)
{
    for (; s; s = s->next) {
        if (s->kind == MT_KS_FOR && !sums_only(s->body))
            return 0;
        if (s->kind == MT_KS_SET &&
            !(s->value->op == MT_KX_ADD && s->value->args[0]->op == MT_KX_SCALAR &&
              s->value->args[0]->id == s->id))
            return 0;
    }
    return 1;
}

static void loop(emitter *e, const mt_kstmt *s, int top)
{
    LLVMBuilderRef B = e->B;
    int par = top && mt_kernel_is_parallel(e->k);
    LLVMValueRef start = par ? e->begin : LLVMConstInt(e->t_i64, 0, 0);
    LLVMValueRef end = par ? e->end : LLVMConstInt(e->t_i64, (unsigned long long)s->trip, 0);
    const mt_kstmt *body = s->body;
    if (body && body->kind == MT_KS_GEMM && body->index->op == MT_KX_VAR &&
        body->index->id == s->id) {
        /* The loop's rows of the product in one call, before the rest of the loop reads them
         * (ir/kernel.h allows it): B is packed once per call, not per row. */
        call_gemm(e, body, start, end);
        body = body->next;
        if (!body)
            return;
    }
    LLVMBasicBlockRef pre = LLVMGetInsertBlock(B);
    LLVMBasicBlockRef head = LLVMAppendBasicBlockInContext(e->C, e->fn, "loop");
    LLVMBasicBlockRef exit = LLVMAppendBasicBlockInContext(e->C, e->fn, "done");
    LLVMBuildBr(B, head);
    LLVMPositionBuilderAtEnd(B, head);
    LLVMValueRef i = LLVMBuildPhi(B, e->t_i64, "i");
    e->loopval[s->id] = i;
    block(e, body, 0);
    LLVMBasicBlockRef latch = LLVMGetInsertBlock(B);
    LLVMValueRef next = LLVMBuildNUWAdd(B, i, LLVMConstInt(e->t_i64, 1, 0), "");
    LLVMValueRef more = LLVMBuildICmp(B, LLVMIntSLT, next, end, "");
    LLVMValueRef br = LLVMBuildCondBr(B, more, head, exit);
    if ((s->flags & MT_KLOOP_REDUCE) && sums_only(s->body))
        LLVMSetMetadata(br, LLVMGetMDKindIDInContext(e->C, "llvm.loop", 9), vectorize_loop_id(e));
    LLVMValueRef in_v[2] = {start, next};
    LLVMBasicBlockRef in_b[2] = {pre, latch};
    LLVMAddIncoming(i, in_v, in_b, 2);
    LLVMPositionBuilderAtEnd(B, exit);
}

static void block(emitter *e, const mt_kstmt *s, int top)
{
    for (; s; s = s->next) {
        memo_clear(e);
        switch (s->kind) {
        case MT_KS_FOR: loop(e, s, top); break;
        case MT_KS_STORE: {
            LLVMTypeRef t = ltype(e, mt_ktype_of(e->p->bufs[s->id].type.dtype));
            LLVMValueRef idx = expr(e, s->index);
            LLVMValueRef v = expr(e, s->value);
            LLVMValueRef at = LLVMBuildGEP2(e->B, t, e->bufptr[s->id], &idx, 1, "");
            LLVMSetAlignment(LLVMBuildStore(e->B, v, at), t == e->t_f64 ? 8 : 4);
            break;
        }
        case MT_KS_DECL:
        case MT_KS_SET: LLVMBuildStore(e->B, expr(e, s->value), e->scalar[s->id]); break;
        case MT_KS_GEMM: {
            LLVMValueRef row = expr(e, s->index);
            call_gemm(e, s, row, LLVMBuildAdd(e->B, row, LLVMConstInt(e->t_i64, 1, 0), ""));
            break;
        }
        }
    }
}

/* ---- functions ------------------------------------------------------------------------- */

static void set_target_attrs(emitter *e, LLVMValueRef fn, const char *cpu, const char *features)
{
    LLVMAddAttributeAtIndex(
        fn, LLVMAttributeFunctionIndex,
        LLVMCreateStringAttribute(e->C, "target-cpu", 10, cpu, (unsigned)strlen(cpu)));
    LLVMAddAttributeAtIndex(fn, LLVMAttributeFunctionIndex,
                            LLVMCreateStringAttribute(e->C, "target-features", 15, features,
                                                      (unsigned)strlen(features)));
    add_attr(e, fn, LLVMAttributeFunctionIndex, "nounwind");
}

static int emit_kernel(emitter *e, const mt_kernel *k, const char *prefix, const char *cpu,
                       const char *features)
{
    e->k = k;
    e->ngemm = 0;
    int n = k->nbufs;
    LLVMTypeRef *params = mt_calloc((size_t)n + 2, sizeof *params);
    e->loopval = mt_calloc((size_t)k->nloops + 1, sizeof *e->loopval);
    e->scalar = mt_calloc((size_t)k->nscalars + 1, sizeof *e->scalar);
    size_t nlen = strlen(prefix) + strlen(k->name) + 8;
    char *name = mt_malloc(nlen);
    if (!params || !e->loopval || !e->scalar || !name) {
        mt_free(params);
        mt_free(name);
        return 0;
    }
    for (int i = 0; i < n; i++)
        params[i] = LLVMPointerType(ltype(e, mt_ktype_of(e->p->bufs[k->bufs[i]].type.dtype)), 0);
    params[n] = params[n + 1] = e->t_i64;

    /* The body: one pointer per buffer. */
    snprintf(name, nlen, "%s%s.body", prefix, k->name);
    LLVMTypeRef body_t = LLVMFunctionType(e->t_void, params, (unsigned)n + 2, 0);
    LLVMValueRef body = LLVMAddFunction(e->M, name, body_t);
    LLVMSetLinkage(body, LLVMInternalLinkage);
    set_target_attrs(e, body, cpu, features);
    for (int i = 0; i < n; i++) {
        LLVMValueRef prm = LLVMGetParam(body, (unsigned)i);
        e->bufptr[k->bufs[i]] = prm;
        add_attr(e, body, (LLVMAttributeIndex)(i + 1), "nocapture");
        if (k->access[i] & MT_KACC_NOALIAS)
            add_attr(e, body, (LLVMAttributeIndex)(i + 1), "noalias");
        if (!(k->access[i] & MT_KACC_WRITE))
            add_attr(e, body, (LLVMAttributeIndex)(i + 1), "readonly");
    }
    e->fn = body;
    e->begin = LLVMGetParam(body, (unsigned)n);
    e->end = LLVMGetParam(body, (unsigned)n + 1);
    LLVMBasicBlockRef entry = LLVMAppendBasicBlockInContext(e->C, body, "entry");
    LLVMPositionBuilderAtEnd(e->B, entry);
    for (int i = 0; i < k->nscalars; i++)
        e->scalar[i] = LLVMBuildAlloca(e->B, ltype(e, k->scalar_types[i]), "");
    if (mt_kernel_is_parallel(k)) {
        /* An empty range does nothing (the loop itself is bottom-tested). */
        LLVMBasicBlockRef work = LLVMAppendBasicBlockInContext(e->C, body, "work");
        LLVMBasicBlockRef none = LLVMAppendBasicBlockInContext(e->C, body, "none");
        LLVMBuildCondBr(e->B, LLVMBuildICmp(e->B, LLVMIntSLT, e->begin, e->end, ""), work, none);
        LLVMPositionBuilderAtEnd(e->B, none);
        LLVMBuildRetVoid(e->B);
        LLVMPositionBuilderAtEnd(e->B, work);
    }
    block(e, k->body, 1);
    LLVMBuildRetVoid(e->B);

    /* The entry point of the kernel ABI. */
    snprintf(name, nlen, "%s%s", prefix, k->name);
    LLVMTypeRef abi_params[3] = {LLVMPointerType(e->t_ptr, 0), e->t_i64, e->t_i64};
    LLVMValueRef abi = LLVMAddFunction(e->M, name, LLVMFunctionType(e->t_void, abi_params, 3, 0));
    set_target_attrs(e, abi, cpu, features);
    LLVMPositionBuilderAtEnd(e->B, LLVMAppendBasicBlockInContext(e->C, abi, "entry"));
    LLVMValueRef *args = mt_calloc((size_t)n + 2, sizeof *args);
    if (args) {
        LLVMValueRef table = LLVMGetParam(abi, 0);
        for (int i = 0; i < n; i++) {
            LLVMValueRef slot = LLVMConstInt(e->t_i64, (unsigned long long)k->bufs[i], 0);
            LLVMValueRef at = LLVMBuildGEP2(e->B, e->t_ptr, table, &slot, 1, "");
            LLVMValueRef base = LLVMBuildLoad2(e->B, e->t_ptr, at, "");
            args[i] = LLVMBuildBitCast(e->B, base, params[i], "");
        }
        args[n] = LLVMGetParam(abi, 1);
        args[n + 1] = LLVMGetParam(abi, 2);
        LLVMBuildCall2(e->B, body_t, body, args, (unsigned)n + 2, "");
        LLVMBuildRetVoid(e->B);
    }
    for (int i = 0; i < n; i++)
        e->bufptr[k->bufs[i]] = NULL;
    mt_free(args);
    mt_free(params);
    mt_free(name);
    mt_free(e->loopval);
    mt_free(e->scalar);
    e->loopval = e->scalar = NULL;
    return args != NULL;
}

/* Optimisation remarks and warnings ("loop not vectorized") are LLVM talking to itself;
 * errors reach us as return values. */
static void quiet(LLVMDiagnosticInfoRef info, void *ctx)
{
    (void)info;
    (void)ctx;
}

void mt_llvm_module_free(mt_llvm_module *m)
{
    if (!m)
        return;
    if (m->mod)
        LLVMDisposeModule(m->mod);
    if (m->tsc)
        LLVMOrcDisposeThreadSafeContext(m->tsc);
    mt_free(m);
}

mt_status mt_llvm_emit(const mt_kprog *p, const char *prefix, mt_llvm_module **out, mt_diag *d)
{
    *out = NULL;
    mt_llvm_init();
    mt_llvm_module *m = mt_calloc(1, sizeof *m);
    emitter *e = mt_calloc(1, sizeof *e);
    if (e)
        e->bufptr = mt_calloc((size_t)p->nbufs + 1, sizeof *e->bufptr);
    if (!m || !e || !e->bufptr) {
        mt_free(m);
        if (e)
            mt_free(e->bufptr);
        mt_free(e);
        return mt_diag_set(d, MT_ERR_NOMEM, "llvm: out of memory");
    }
    m->tsc = LLVMOrcCreateNewThreadSafeContext();
    m->ctx = LLVMOrcThreadSafeContextGetContext(m->tsc);
    m->mod = LLVMModuleCreateWithNameInContext(p->name, m->ctx);
    LLVMContextSetDiagnosticHandler(m->ctx, quiet, NULL);
    e->C = m->ctx;
    e->M = m->mod;
    e->B = LLVMCreateBuilderInContext(e->C);
    e->p = p;
    e->t_void = LLVMVoidTypeInContext(e->C);
    e->t_i1 = LLVMInt1TypeInContext(e->C);
    e->t_i32 = LLVMInt32TypeInContext(e->C);
    e->t_i64 = LLVMInt64TypeInContext(e->C);
    e->t_f32 = LLVMFloatTypeInContext(e->C);
    e->t_f64 = LLVMDoubleTypeInContext(e->C);
    e->t_ptr = LLVMPointerType(LLVMInt8TypeInContext(e->C), 0);
    e->prefix = prefix;
    e->d = d;
    char *cpu = LLVMGetHostCPUName(), *features = LLVMGetHostCPUFeatures();
    int ok = 1;
    for (int i = 0; i < p->nkernels && ok && e->fail == MT_OK; i++)
        ok = emit_kernel(e, &p->kernels[i], prefix, cpu, features);
    mt_status fail = e->fail;
    LLVMDisposeMessage(cpu);
    LLVMDisposeMessage(features);
    LLVMDisposeBuilder(e->B);
    mt_free(e->bufptr);
    mt_free(e);
    if (!ok || fail != MT_OK) {
        mt_llvm_module_free(m);
        return fail != MT_OK ? fail : mt_diag_set(d, MT_ERR_NOMEM, "llvm: out of memory");
    }
    char *msg = NULL;
    if (LLVMVerifyModule(m->mod, LLVMReturnStatusAction, &msg)) {
        mt_status st = mt_llvm_fail(d, "the generated module does not verify", msg);
        LLVMDisposeMessage(msg);
        mt_llvm_module_free(m);
        return st;
    }
    LLVMDisposeMessage(msg);
    *out = m;
    return MT_OK;
}

char *mt_llvm_module_print(const mt_llvm_module *m)
{
    char *s = LLVMPrintModuleToString(m->mod);
    char *copy = s ? mt_strdup(s) : NULL;
    LLVMDisposeMessage(s);
    return copy;
}
