/* emit.c - kernel IR -> an LLVM module, through the LLVM-C API.
 *
 * Each kernel becomes two functions: an internal body taking one pointer per buffer it uses
 * (marked noalias where memory planning proved no overlap, so loops vectorize without
 * run-time alias checks) and the exported entry point of the kernel ABI (llvm.h), which loads
 * the pointers from the buffer table and calls the body; the optimiser inlines it.
 *
 * Loops have exact, constant trip counts and are bottom-tested (every trip is >= 1); the
 * parallel outer loop runs [begin, end) instead. Scalars live in allocas that mem2reg turns
 * into registers. Reduction loops carry `llvm.loop.vectorize.enable`, which lets the loop
 * vectorizer reassociate their sums (the order is fixed per kernel, never per thread count);
 * a NaN-propagating max in one is kept as an integer key the vectorizer also takes
 * (emit_reduce.c).
 * General loop unrolling is off (opt.c): the vectorizer interleaves on its own, and fully
 * unrolled constant-trip loops made compilation quadratic in the scheduler.
 * Expressions are emitted by emit_expr.c (float math is inline code from vmath.c or an LLVM
 * intrinsic, never a libm call). Nothing here knows about graph ops: one scalar operation at
 * a time.
 *
 * A GEMM statement (a matmul's rows, ir/kernel.h) becomes a call of the packed,
 * register-blocked GEMM of codegen/llvm/gemm.c, shared by every product of its dtype and
 * transposes, with the product's sizes and strides as a constant descriptor: one call for all
 * the rows of a loop that starts with it, before the loop (which then runs only the
 * epilogue), else one call per row; a product too small to pay for the GEMM's packing is
 * emitted in place as plain loops instead (emit_small_gemm.c). The GEMM's own functions go into the
 * module too (mt_llvm_emit), or are left to other objects (mt_llvm_emit_unit: compile.c compiles
 * them as units of their own, mt_llvm_emit_gemm_piece).
 */
#include <llvm-c/Analysis.h>
#include <llvm-c/DebugInfo.h>
#include <llvm-c/Orc.h>
#include <stdio.h>
#include <string.h>

#include "codegen/llvm/emit_internal.h"
#include "codegen/llvm/gemm.h"
#include "codegen/llvm/llvm.h"
#include "codegen/llvm/target.h"
#include "ir/alloc.h"
#include "ir/type.h"

/* ---- matrix products ------------------------------------------------------------------- */

/* The emitter's descriptor of product g, whose result C has buffer type tc (seen as the
 * product's [batch..., M, N], mt_kgemm_result_type). The batch axes are C's:
 * an operand broadcast along one (size 1, missing, or an expand that was never copied) reads
 * it with stride 0. */
static mt_status gemm_desc(const mt_kgemm *g, const mt_type *tc, const mt_cpu_target *t,
                           mt_llvm_gemm_desc *d, mt_diag *diag)
{
    mt_status st = mt_llvm_gemm_desc_matmul(d, &g->ta, &g->tb, g->trans_a, g->trans_b, diag);
    if (st != MT_OK)
        return st;
    d->isa = mt_llvm_gemm_isa_of(t);
    mt_type rt;
    if (!mt_kgemm_result_type(g, tc, &rt))
        return mt_diag_set(diag, MT_ERR_INTERNAL, "llvm: a product does not fit its result");
    tc = &rt;
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

/* Rows [lo, hi) of the product of GEMM statement s: a call of the shared GEMM with the
 * product's descriptor (codegen/llvm/gemm.c), the packed panels on the calling thread's
 * stack. */
static void call_gemm(emitter *e, const mt_kstmt *s, LLVMValueRef lo, LLVMValueRef hi)
{
    const mt_kgemm *g = s->gemm;
    mt_llvm_gemm_desc desc;
    mt_status st = gemm_desc(g, &e->p->bufs[g->c].type, e->target, &desc, e->d);
    if (st == MT_OK && mt_emit_small_gemm_fits(&desc)) {
        mt_emit_small_gemm(e, &desc, e->bufptr[g->a], e->bufptr[g->b], e->bufptr[g->c], lo, hi);
        return;
    }
    if (st == MT_OK)
        st = mt_llvm_gemm_build_call(e->M, e->B, &desc, e->bufptr[g->a], e->bufptr[g->b],
                                     e->bufptr[g->c], lo, hi, NULL, e->gemm_bodies, e->d);
    if (st != MT_OK && e->fail == MT_OK)
        e->fail = st;
}

/* ---- statements ------------------------------------------------------------------------ */

/* !{!"llvm.loop.vectorize.enable", i1 true} inside a distinct self-referencing loop id. */
LLVMValueRef mt_emit_vectorize_id(emitter *e) { return mt_emit_vectorize_width_id(e, 0); }

LLVMValueRef mt_emit_vectorize_width_id(emitter *e, int width)
{
    LLVMMetadataRef tmp = LLVMTemporaryMDNode(e->C, NULL, 0);
    const char *key = "llvm.loop.vectorize.enable", *wkey = "llvm.loop.vectorize.width";
    LLVMMetadataRef kv[2] = {LLVMMDStringInContext2(e->C, key, strlen(key)),
                             LLVMValueAsMetadata(LLVMConstInt(e->t_i1, 1, 0))};
    LLVMMetadataRef wv[2] = {LLVMMDStringInContext2(e->C, wkey, strlen(wkey)),
                             LLVMValueAsMetadata(LLVMConstInt(e->t_i32, (unsigned)width, 0))};
    LLVMMetadataRef ops[3] = {tmp, LLVMMDNodeInContext2(e->C, kv, 2),
                              LLVMMDNodeInContext2(e->C, wv, 2)};
    LLVMMetadataRef id = LLVMMDNodeInContext2(e->C, ops, width > 0 ? 3 : 2);
    LLVMMetadataReplaceAllUsesWith(tmp, id);
    return LLVMMetadataAsValue(e->C, id);
}

static void block(emitter *e, const mt_kstmt *s, int top) { mt_emit_stmts(e, s, NULL, top); }

/* The loop `for i in [start, end)` of statement s over `body`, bottom-tested; `guarded` adds
 * the test for an empty range (loops of kernel IR have trips >= 1, but pieces of them may
 * not). */
static LLVMValueRef emit_for(emitter *e, const mt_kstmt *s, const mt_kstmt *body,
                             LLVMValueRef start, LLVMValueRef end, int guarded)
{
    LLVMBuilderRef B = e->B;
    int keys[8], nkeys = 0;
    if (s->flags & MT_KLOOP_REDUCE)
        nkeys = mt_emit_max_keys_open(e, s, keys, 8);
    LLVMBasicBlockRef head = LLVMAppendBasicBlockInContext(e->C, e->fn, "loop");
    LLVMBasicBlockRef exit = LLVMAppendBasicBlockInContext(e->C, e->fn, "done");
    if (guarded)
        LLVMBuildCondBr(B, LLVMBuildICmp(B, LLVMIntSLT, start, end, ""), head, exit);
    else
        LLVMBuildBr(B, head);
    LLVMBasicBlockRef pre = LLVMGetInsertBlock(B);
    LLVMPositionBuilderAtEnd(B, head);
    LLVMValueRef i = LLVMBuildPhi(B, e->t_i64, "i");
    e->loopval[s->id] = i;
    block(e, body, 0);
    LLVMBasicBlockRef latch = LLVMGetInsertBlock(B);
    LLVMValueRef next = LLVMBuildNUWAdd(B, i, LLVMConstInt(e->t_i64, 1, 0), "");
    LLVMValueRef more = LLVMBuildICmp(B, LLVMIntSLT, next, end, "");
    LLVMValueRef br = LLVMBuildCondBr(B, more, head, exit);
    if ((s->flags & MT_KLOOP_REDUCE) && mt_emit_reducible(e, s->body))
        LLVMSetMetadata(br, LLVMGetMDKindIDInContext(e->C, "llvm.loop", 9),
                        mt_emit_vectorize_width_id(e, mt_emit_reduce_width(e, s->body)));
    LLVMValueRef in_v[2] = {start, next};
    LLVMBasicBlockRef in_b[2] = {pre, latch};
    LLVMAddIncoming(i, in_v, in_b, 2);
    LLVMPositionBuilderAtEnd(B, exit);
    mt_emit_max_keys_close(e, keys, nkeys);
    return br;
}

/* !{!"llvm.loop.vectorize.enable", i1 false}: a loop of at most a vector's worth of
 * iterations, which vectorising would only make bigger. */
static LLVMValueRef scalar_loop_id(emitter *e)
{
    LLVMMetadataRef tmp = LLVMTemporaryMDNode(e->C, NULL, 0);
    const char *key = "llvm.loop.vectorize.enable";
    LLVMMetadataRef kv[2] = {LLVMMDStringInContext2(e->C, key, strlen(key)),
                             LLVMValueAsMetadata(LLVMConstInt(e->t_i1, 0, 0))};
    LLVMMetadataRef ops[2] = {tmp, LLVMMDNodeInContext2(e->C, kv, 2)};
    LLVMMetadataRef id = LLVMMDNodeInContext2(e->C, ops, 2);
    LLVMMetadataReplaceAllUsesWith(tmp, id);
    return LLVMMetadataAsValue(e->C, id);
}

/* The loop of the kernel's streaming store (nt_plan), in two copies: the iterations before
 * the first one whose store address is 64-byte aligned, then the rest, whose store is
 * addressed from that aligned start, made visible to LLVM with llvm.ptrmask (a no-op at run
 * time) and tagged !mtc.stream. The loop vectorizer then turns the second copy's stores into
 * vector stores that InstCombine can prove aligned to their size, and only those are made
 * non-temporal, after optimisation (opt.c): LLVM's vectorizer refuses to vectorise a store
 * that is already non-temporal unless the scalar store is aligned to the whole vector, and a
 * misaligned non-temporal vector store would be split into scalar ones. */
static void emit_nt_loop(emitter *e, const mt_kstmt *s, const mt_kstmt *body, LLVMValueRef start,
                         LLVMValueRef end)
{
    LLVMBuilderRef B = e->B;
    const mt_kstmt *st = e->nt_store;
    LLVMTypeRef t = mt_emit_ltype(e, mt_ktype_of(e->p->bufs[st->id].type.dtype));
    int64_t esize = mt_dtype_size(e->p->bufs[st->id].type.dtype), line = 64 / esize;
    /* The store's address at i = start, and how many iterations to the next 64 bytes. */
    mt_emit_memo_clear(e);
    e->loopval[s->id] = start;
    LLVMValueRef idx = mt_emit_expr(e, st->index);
    LLVMValueRef at = LLVMBuildGEP2(B, t, e->bufptr[st->id], &idx, 1, "");
    mt_emit_memo_clear(e);
    LLVMValueRef addr = LLVMBuildPtrToInt(B, at, e->t_i64, "");
    LLVMValueRef mis = LLVMBuildAnd(
        B, LLVMBuildUDiv(B, addr, LLVMConstInt(e->t_i64, (unsigned long long)esize, 0), ""),
        LLVMConstInt(e->t_i64, (unsigned long long)(line - 1), 0), "");
    LLVMValueRef peel = LLVMBuildAnd(
        B, LLVMBuildSub(B, LLVMConstInt(e->t_i64, (unsigned long long)line, 0), mis, ""),
        LLVMConstInt(e->t_i64, (unsigned long long)(line - 1), 0), "peel");
    LLVMValueRef mid = LLVMBuildAdd(B, start, peel, "aligned");
    LLVMValueRef stop =
        LLVMBuildSelect(B, LLVMBuildICmp(B, LLVMIntSLT, mid, end, ""), mid, end, "");
    LLVMValueRef br = emit_for(e, s, body, start, stop, 1);
    LLVMSetMetadata(br, LLVMGetMDKindIDInContext(e->C, "llvm.loop", 9), scalar_loop_id(e));
    /* The aligned part: the store at iteration i is nt_base + (i - nt_first). */
    LLVMValueRef first = LLVMBuildGEP2(B, t, at, &peel, 1, "");
    LLVMTypeRef types[2] = {LLVMTypeOf(first), e->t_i64};
    unsigned id = LLVMLookupIntrinsicID("llvm.ptrmask", 12);
    LLVMValueRef ptrmask = LLVMGetIntrinsicDeclaration(e->M, id, types, 2);
    LLVMValueRef margs[2] = {first, LLVMConstInt(e->t_i64, ~(unsigned long long)63, 0)};
    e->nt_base =
        LLVMBuildCall2(B, LLVMIntrinsicGetType(e->C, id, types, 2), ptrmask, margs, 2, "stream");
    LLVMSetMetadata(e->nt_base, LLVMGetMDKindIDInContext(e->C, MT_LLVM_STREAM_MD, 10),
                    LLVMMetadataAsValue(e->C, LLVMMDNodeInContext2(e->C, NULL, 0)));
    /* LLVM 14 does not derive alignment from llvm.ptrmask, but it does from this (true)
     * assumption, also through the vectorised loop's induction. */
    LLVMValueRef low = LLVMBuildAnd(B, LLVMBuildPtrToInt(B, e->nt_base, e->t_i64, ""),
                                    LLVMConstInt(e->t_i64, 63, 0), "");
    LLVMValueRef aligned = LLVMBuildICmp(B, LLVMIntEQ, low, LLVMConstInt(e->t_i64, 0, 0), "");
    LLVMTypeRef at_ty = LLVMFunctionType(e->t_void, &e->t_i1, 1, 0);
    LLVMValueRef assume = LLVMGetNamedFunction(e->M, "llvm.assume");
    if (!assume)
        assume = LLVMAddFunction(e->M, "llvm.assume", at_ty);
    LLVMBuildCall2(B, at_ty, assume, &aligned, 1, "");
    e->nt_first = mid;
    e->nt_used = 1;
    emit_for(e, s, body, mid, end, 1);
    e->nt_base = e->nt_first = NULL;
}

static void loop(emitter *e, const mt_kstmt *s, int top)
{
    int par = top && mt_kernel_is_parallel(e->k);
    if (!par && s->trip == 1 && s != e->nt_loop) {
        /* One iteration (an unrolled copy, passes/unroll.c): no expression uses its variable
         * (mt_kx_var makes a trip-1 variable the constant 0), so the body is straight code. */
        block(e, s->body, 0);
        return;
    }
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
    const mt_kstmt *reduce = body == s->body ? mt_emit_strip_plan(e, s) : NULL;
    if (s == e->nt_loop)
        emit_nt_loop(e, s, body, start, end);
    else if (reduce)
        mt_emit_strip(e, s, reduce, start, end);
    else
        emit_for(e, s, body, start, end, 0);
}

void mt_emit_stmts(emitter *e, const mt_kstmt *s, const mt_kstmt *stop, int top)
{
    for (; s && s != stop; s = s->next) {
        mt_emit_memo_clear(e);
        switch (s->kind) {
        case MT_KS_FOR: loop(e, s, top); break;
        case MT_KS_STORE: {
            LLVMTypeRef t = mt_emit_ltype(e, mt_ktype_of(e->p->bufs[s->id].type.dtype));
            LLVMValueRef v = mt_emit_expr(e, s->value), at;
            int nt = s == e->nt_store && e->nt_base;
            if (nt) { /* the aligned copy of its loop: nt_base + (i - nt_first) */
                LLVMValueRef off = LLVMBuildSub(e->B, e->loopval[e->nt_loop->id], e->nt_first, "");
                at = LLVMBuildGEP2(e->B, t, e->nt_base, &off, 1, "");
            } else {
                LLVMValueRef idx = mt_emit_expr(e, s->index);
                at = LLVMBuildGEP2(e->B, t, e->bufptr[s->id], &idx, 1, "");
            }
            LLVMSetAlignment(LLVMBuildStore(e->B, v, at), t == e->t_f64 ? 8 : 4);
            break;
        }
        case MT_KS_DECL:
        case MT_KS_SET:
            if (s->kind == MT_KS_SET && mt_emit_max_set(e, s))
                break;
            LLVMBuildStore(e->B, mt_emit_expr(e, s->value), e->scalar[s->id]);
            break;
        case MT_KS_GEMM: {
            LLVMValueRef row = mt_emit_expr(e, s->index);
            call_gemm(e, s, row, LLVMBuildAdd(e->B, row, LLVMConstInt(e->t_i64, 1, 0), ""));
            break;
        }
        }
    }
}

/* ---- non-temporal stores --------------------------------------------------------------- */

/* A kernel that writes at least this many bytes into buffers it does not read streams them
 * to memory with non-temporal stores: they skip the cache, so the line is not read first
 * (read-for-ownership), which saves a third of the memory traffic of a streaming kernel, and
 * data that will not fit in the last-level cache anyway does not evict what would. Smaller
 * outputs keep ordinary stores: the next kernel (or the next run) finds them in the cache.
 * Measured on the development machine (32 MiB L3) with y = relu(x * a + a), run repeatedly:
 * ordinary stores were 1.5 to 2.8x faster up to 16 MiB, about even from 20 to 28 MiB, and
 * non-temporal ones 1.3x faster at 32 MiB and 1.25 to 1.5x at 48 and 64 MiB. */
#define MT_NT_MIN_BYTES ((int64_t)24 << 20)

/* A contiguous run must be this long (in bytes) for its loop to get non-temporal stores: the
 * part before the first 64-byte boundary uses ordinary ones. */
#define MT_NT_MIN_RUN 4096

/* The coefficient c when x = c * v + (terms without v), built from constants, loop
 * variables, + and - and * by constants (an index that steps by c elements per iteration of
 * loop v); operations on terms without v (the / and % of reshapes over outer loops) are terms
 * without v. -1 when x is not of that form or reads data (loads, scalars). *budget bounds the
 * walk: expressions are DAGs. */
int64_t mt_emit_coefficient(const mt_kexpr *x, int v, int *budget)
{
    if (--*budget < 0)
        return -1;
    switch (x->op) {
    case MT_KX_CONST: return 0;
    case MT_KX_VAR: return x->id == v;
    case MT_KX_LOAD:
    case MT_KX_SCALAR: return -1;
    default: break;
    }
    int64_t c[3] = {0, 0, 0};
    for (int i = 0; i < x->nargs && i < 3; i++)
        if ((c[i] = mt_emit_coefficient(x->args[i], v, budget)) < 0)
            return -1;
    if (x->nargs > 3 || (c[0] == 0 && c[1] == 0 && c[2] == 0))
        return x->nargs > 3 ? -1 : 0;
    switch (x->op) {
    case MT_KX_ADD: return c[0] + c[1];
    case MT_KX_SUB: return c[1] == 0 ? c[0] : -1;
    case MT_KX_MUL: {
        const mt_kexpr *k = c[0] == 0 ? x->args[0] : x->args[1];
        return k->op == MT_KX_CONST && k->c.i >= 0 ? (c[0] + c[1]) * k->c.i : -1;
    }
    default: return -1; /* v under a division, a select, a cast: not provably contiguous */
    }
}

/* The store statement directly in loop s's body that writes a buffer the kernel only writes
 * at an index stepping by one element per iteration, when there is exactly one, else NULL. */
static const mt_kstmt *streaming_store(const emitter *e, const mt_kstmt *s)
{
    const mt_kstmt *found = NULL;
    for (const mt_kstmt *b = s->body; b; b = b->next) {
        if (b->kind != MT_KS_STORE)
            continue;
        unsigned acc = mt_kernel_access(e->k, b->id);
        int budget = 256;
        if ((acc & MT_KACC_READ) || mt_emit_coefficient(b->index, s->id, &budget) != 1)
            continue;
        if (found)
            return NULL;
        found = b;
    }
    return found;
}

static void find_nt_loop(emitter *e, const mt_kstmt *s, int top)
{
    for (; s && !e->nt_loop; s = s->next) {
        if (s->kind != MT_KS_FOR)
            continue;
        const mt_kstmt *st = streaming_store(e, s);
        int64_t esize = st ? mt_dtype_size(e->p->bufs[st->id].type.dtype) : 0;
        int whole = top && mt_kernel_is_parallel(e->k); /* the split loop: long by design */
        if (st && (whole || s->trip * esize >= MT_NT_MIN_RUN)) {
            e->nt_loop = s;
            e->nt_store = st;
        } else {
            find_nt_loop(e, s->body, 0);
        }
    }
}

/* Decides which store of kernel k, if any, is non-temporal (emit_nt_loop). */
static void nt_plan(emitter *e, const mt_kernel *k)
{
    e->nt_loop = e->nt_store = NULL;
    e->nt_used = 0;
    if (!e->x86)
        return;
    int64_t bytes = 0;
    for (int i = 0; i < k->nbufs; i++) {
        const mt_kbuf *u = &e->p->bufs[k->bufs[i]];
        if ((k->access[i] & MT_KACC_WRITE) && !(k->access[i] & MT_KACC_READ))
            bytes += u->numel * (int64_t)mt_dtype_size(u->type.dtype);
    }
    if (bytes >= MT_NT_MIN_BYTES)
        find_nt_loop(e, k->body, 1);
}

/* Non-temporal stores are weakly ordered: an sfence makes them visible before anything this
 * thread does next, such as telling the pool that its share of the kernel is done. */
static void sfence(emitter *e)
{
    LLVMTypeRef ft = LLVMFunctionType(e->t_void, NULL, 0, 0);
    LLVMValueRef fn = LLVMGetNamedFunction(e->M, "llvm.x86.sse.sfence");
    if (!fn)
        fn = LLVMAddFunction(e->M, "llvm.x86.sse.sfence", ft);
    /* Tagged: opt.c removes it again if no store became non-temporal. */
    LLVMSetMetadata(LLVMBuildCall2(e->B, ft, fn, NULL, 0, ""),
                    LLVMGetMDKindIDInContext(e->C, MT_LLVM_STREAM_MD, 10),
                    LLVMMetadataAsValue(e->C, LLVMMDNodeInContext2(e->C, NULL, 0)));
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
    mt_emit_add_attr(e, fn, LLVMAttributeFunctionIndex, "nounwind");
}

static void mark_small(emitter *e, LLVMValueRef fn)
{
    LLVMAddAttributeAtIndex(fn, LLVMAttributeFunctionIndex,
                            LLVMCreateStringAttribute(e->C, MT_LLVM_SMALL_ATTR,
                                                      (unsigned)strlen(MT_LLVM_SMALL_ATTR), "1",
                                                      1));
}

static int emit_kernel(emitter *e, const mt_kernel *k, const char *prefix, const char *cpu,
                       const char *features)
{
    e->k = k;
    int n = k->nbufs;
    LLVMTypeRef *params = mt_calloc((size_t)n + 2, sizeof *params);
    e->loopval = mt_calloc((size_t)k->nloops + 1, sizeof *e->loopval);
    e->scalar = mt_calloc((size_t)k->nscalars + 1, sizeof *e->scalar);
    e->maxkey = mt_calloc((size_t)k->nscalars + 1, sizeof *e->maxkey);
    size_t nlen = strlen(prefix) + strlen(k->name) + 8;
    char *name = mt_malloc(nlen);
    if (!params || !e->loopval || !e->scalar || !e->maxkey || !name) {
        mt_free(params);
        mt_free(name);
        mt_free(e->loopval);
        mt_free(e->scalar);
        mt_free(e->maxkey);
        e->loopval = e->scalar = e->maxkey = NULL;
        return 0;
    }
    for (int i = 0; i < n; i++)
        params[i] =
            LLVMPointerType(mt_emit_ltype(e, mt_ktype_of(e->p->bufs[k->bufs[i]].type.dtype)), 0);
    params[n] = params[n + 1] = e->t_i64;

    /* The body: one pointer per buffer. */
    snprintf(name, nlen, "%s%s.body", prefix, k->name);
    LLVMTypeRef body_t = LLVMFunctionType(e->t_void, params, (unsigned)n + 2, 0);
    LLVMValueRef body = LLVMAddFunction(e->M, name, body_t);
    LLVMSetLinkage(body, LLVMInternalLinkage);
    set_target_attrs(e, body, cpu, features);
    if (n > MT_LLVM_INLINE_MAX_BUFS)
        mt_emit_add_attr(e, body, LLVMAttributeFunctionIndex, "noinline");
    int small = k->work <= MT_LLVM_SMALL_WORK && !mt_kernel_gemm(k);
    if (small)
        mark_small(e, body);
    for (int i = 0; i < n; i++) {
        LLVMValueRef prm = LLVMGetParam(body, (unsigned)i);
        e->bufptr[k->bufs[i]] = prm;
        mt_emit_add_attr(e, body, (LLVMAttributeIndex)(i + 1), "nocapture");
        if (k->access[i] & MT_KACC_NOALIAS)
            mt_emit_add_attr(e, body, (LLVMAttributeIndex)(i + 1), "noalias");
        if (!(k->access[i] & MT_KACC_WRITE))
            mt_emit_add_attr(e, body, (LLVMAttributeIndex)(i + 1), "readonly");
    }
    e->fn = body;
    e->begin = LLVMGetParam(body, (unsigned)n);
    e->end = LLVMGetParam(body, (unsigned)n + 1);
    LLVMBasicBlockRef entry = LLVMAppendBasicBlockInContext(e->C, body, "entry");
    LLVMPositionBuilderAtEnd(e->B, entry);
    for (int i = 0; i < k->nscalars; i++)
        e->scalar[i] = LLVMBuildAlloca(e->B, mt_emit_ltype(e, k->scalar_types[i]), "");
    if (mt_kernel_is_parallel(k)) {
        /* An empty range does nothing (the loop itself is bottom-tested). */
        LLVMBasicBlockRef work = LLVMAppendBasicBlockInContext(e->C, body, "work");
        LLVMBasicBlockRef none = LLVMAppendBasicBlockInContext(e->C, body, "none");
        LLVMBuildCondBr(e->B, LLVMBuildICmp(e->B, LLVMIntSLT, e->begin, e->end, ""), work, none);
        LLVMPositionBuilderAtEnd(e->B, none);
        LLVMBuildRetVoid(e->B);
        LLVMPositionBuilderAtEnd(e->B, work);
    }
    nt_plan(e, k);
    block(e, k->body, 1);
    if (e->nt_used)
        sfence(e);
    LLVMBuildRetVoid(e->B);

    /* The entry point of the kernel ABI. */
    snprintf(name, nlen, "%s%s", prefix, k->name);
    LLVMTypeRef abi_params[3] = {LLVMPointerType(e->t_ptr, 0), e->t_i64, e->t_i64};
    LLVMValueRef abi = LLVMAddFunction(e->M, name, LLVMFunctionType(e->t_void, abi_params, 3, 0));
    set_target_attrs(e, abi, cpu, features);
    if (small)
        mark_small(e, abi);
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
    mt_free(e->maxkey);
    e->loopval = e->scalar = e->maxkey = NULL;
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

mt_llvm_module *mt_emit_module_new(const char *name)
{
    mt_llvm_init();
    mt_llvm_module *m = mt_calloc(1, sizeof *m);
    if (!m)
        return NULL;
    m->tsc = LLVMOrcCreateNewThreadSafeContext();
    m->ctx = LLVMOrcThreadSafeContextGetContext(m->tsc);
    m->mod = LLVMModuleCreateWithNameInContext(name, m->ctx);
    LLVMContextSetDiagnosticHandler(m->ctx, quiet, NULL);
    return m;
}

void mt_emit_begin(emitter *e, mt_llvm_module *m, const mt_kprog *p)
{
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
}

LLVMValueRef mt_emit_entry_alloca(emitter *e, LLVMTypeRef t, const char *name)
{
    LLVMBasicBlockRef here = LLVMGetInsertBlock(e->B);
    LLVMBasicBlockRef entry = LLVMGetEntryBasicBlock(e->fn);
    LLVMValueRef first = LLVMGetFirstInstruction(entry);
    if (first)
        LLVMPositionBuilderBefore(e->B, first);
    else
        LLVMPositionBuilderAtEnd(e->B, entry);
    LLVMValueRef a = LLVMBuildAlloca(e->B, t, name);
    LLVMPositionBuilderAtEnd(e->B, here);
    return a;
}

mt_status mt_emit_module_verify(mt_llvm_module *m, mt_diag *d)
{
    char *msg = NULL;
    mt_status st = MT_OK;
    if (LLVMVerifyModule(m->mod, LLVMReturnStatusAction, &msg)) {
        st = mt_llvm_fail(d, "the generated module does not verify", msg);
        mt_llvm_module_free(m);
    }
    LLVMDisposeMessage(msg);
    return st;
}

mt_status mt_llvm_emit_unit(const mt_kprog *p, const char *prefix, int gemm_bodies,
                            mt_llvm_module **out, mt_diag *d)
{
    return mt_llvm_emit_for(p, prefix, mt_cpu_target_host(), gemm_bodies, out, d);
}

mt_status mt_llvm_emit_for(const mt_kprog *p, const char *prefix, const mt_cpu_target *target,
                           int gemm_bodies, mt_llvm_module **out, mt_diag *d)
{
    *out = NULL;
    mt_llvm_module *m = mt_emit_module_new(p->name);
    emitter *e = mt_calloc(1, sizeof *e);
    if (e)
        e->bufptr = mt_calloc((size_t)p->nbufs + 1, sizeof *e->bufptr);
    if (!m || !e || !e->bufptr) {
        mt_llvm_module_free(m);
        if (e)
            mt_free(e->bufptr);
        mt_free(e);
        return mt_diag_set(d, MT_ERR_NOMEM, "llvm: out of memory");
    }
    mt_emit_begin(e, m, p);
    e->prefix = prefix;
    e->gemm_bodies = gemm_bodies;
    e->d = d;
    e->target = target;
    e->x86 = target->x86;
    const char *cpu = target->cpu, *features = target->features;
    int ok = 1;
    for (int i = 0; i < p->nkernels && ok && e->fail == MT_OK; i++)
        ok = emit_kernel(e, &p->kernels[i], prefix, cpu, features);
    mt_status fail = e->fail;
    LLVMDisposeBuilder(e->B);
    mt_free(e->bufptr);
    mt_free(e);
    if (!ok || fail != MT_OK) {
        mt_llvm_module_free(m);
        return fail != MT_OK ? fail : mt_diag_set(d, MT_ERR_NOMEM, "llvm: out of memory");
    }
    mt_status st = mt_emit_module_verify(m, d);
    if (st == MT_OK)
        *out = m;
    return st;
}

mt_status mt_llvm_emit(const mt_kprog *p, const char *prefix, mt_llvm_module **out, mt_diag *d)
{
    return mt_llvm_emit_unit(p, prefix, 1, out, d);
}

mt_status mt_llvm_emit_gemm_piece(const mt_llvm_gemm_piece *piece, mt_llvm_module **out, mt_diag *d)
{
    *out = NULL;
    char name[MT_LLVM_GEMM_NAME];
    mt_llvm_gemm_piece_name(piece, name);
    mt_llvm_module *m = mt_emit_module_new(name);
    if (!m)
        return mt_diag_set(d, MT_ERR_NOMEM, "llvm: out of memory");
    mt_llvm_gemm_piece_function(m->mod, piece, true);
    mt_status st = mt_emit_module_verify(m, d);
    if (st == MT_OK)
        *out = m;
    return st;
}

static int same_piece(const mt_llvm_gemm_piece *a, const mt_llvm_gemm_piece *b)
{
    char x[MT_LLVM_GEMM_NAME], y[MT_LLVM_GEMM_NAME];
    mt_llvm_gemm_piece_name(a, x);
    mt_llvm_gemm_piece_name(b, y);
    return strcmp(x, y) == 0;
}

static mt_status add_pieces(const mt_kprog *p, const mt_kstmt *s, const mt_cpu_target *t,
                            mt_llvm_gemm_piece *out, int *n, mt_diag *d)
{
    for (; s; s = s->next) {
        mt_status st = MT_OK;
        if (s->kind == MT_KS_FOR)
            st = add_pieces(p, s->body, t, out, n, d);
        if (s->kind == MT_KS_GEMM) {
            mt_llvm_gemm_desc desc;
            mt_llvm_gemm_piece need[MT_LLVM_GEMM_PIECES];
            st = gemm_desc(s->gemm, &p->bufs[s->gemm->c].type, t, &desc, d);
            int inline_loops = st == MT_OK && mt_emit_small_gemm_fits(&desc);
            if (st == MT_OK && !inline_loops)
                st = mt_llvm_gemm_pieces(&desc, need, d);
            for (int i = 0; i < MT_LLVM_GEMM_PIECES && st == MT_OK && !inline_loops; i++) {
                int have = 0;
                for (int j = 0; j < *n && !have; j++)
                    have = same_piece(&out[j], &need[i]);
                if (!have && *n == MT_LLVM_GEMM_MAX_PIECES)
                    st = mt_diag_set(d, MT_ERR_INTERNAL, "llvm: too many GEMM variants");
                else if (!have)
                    out[(*n)++] = need[i];
            }
        }
        if (st != MT_OK)
            return st;
    }
    return MT_OK;
}

mt_status mt_llvm_gemm_pieces_of(const mt_kprog *p, mt_llvm_gemm_piece *out, int *n, mt_diag *d)
{
    return mt_llvm_gemm_pieces_for(p, mt_cpu_target_host(), out, n, d);
}

mt_status mt_llvm_gemm_pieces_for(const mt_kprog *p, const mt_cpu_target *t,
                                  mt_llvm_gemm_piece *out, int *n, mt_diag *d)
{
    *n = 0;
    for (int k = 0; k < p->nkernels; k++) {
        mt_status st = add_pieces(p, p->kernels[k].body, t, out, n, d);
        if (st != MT_OK)
            return st;
    }
    return MT_OK;
}

char *mt_llvm_module_print(const mt_llvm_module *m)
{
    char *s = LLVMPrintModuleToString(m->mod);
    char *copy = s ? mt_strdup(s) : NULL;
    LLVMDisposeMessage(s);
    return copy;
}
