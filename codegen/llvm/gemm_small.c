/* gemm_small.c - the GEMM driver's path for products with few rows: no packing, B read where
 * it lies.
 *
 * Why: the packed path (gemm.c) copies a KC x NC block of B into a panel for every MC rows and
 * fills MR-row micro-tiles. With one row (batch-1 inference) that means copying all of B,
 * the weights, on every call and doing MR times the multiply-adds: the MLP 784-256-128-10 of
 * bench/aot.sh took 64 us, 36% of it packing B. A row of C is a matrix-vector product, and B's
 * rows are contiguous, so vectors of B load straight from it.
 *
 * Shape: for each row i of C, for each block of W = NB * VL columns, for each K block of KC
 * steps, NB vector accumulators start at zero and take one multiply-add per k, in increasing
 * k, of A[i, k] broadcast times B[k, j..j+VL); then C = acc for the first K block (unless
 * accumulating) and C = C + acc for later ones. That is exactly what the micro-kernel and
 * its SET / ADD modes do to each element, with the same KC, so the two paths give the same
 * bits: the driver may choose either for any row range, and a split of M among threads never
 * changes a result. NB = 8 independent chains cover the FMA latency (4 cycles, 2 per cycle).
 * The last, partial column block uses masked loads and stores.
 */
#include "codegen/llvm/gemm_gen.h"

enum { NB = 8, UNROLL = 4 };

/* llvm.masked.load / llvm.masked.store on the vector type, and their types. */
typedef struct masked_ops {
    LLVMValueRef load, store;
    LLVMTypeRef load_ty, store_ty;
} masked_ops;

static masked_ops masked_intrinsics(mt_gemm_gen *g)
{
    masked_ops m;
    LLVMTypeRef over[2] = {g->vt, g->vtp};
    unsigned id = LLVMLookupIntrinsicID("llvm.masked.load", 16);
    m.load = LLVMGetIntrinsicDeclaration(g->mod, id, over, 2);
    m.load_ty = LLVMIntrinsicGetType(g->ctx, id, over, 2);
    id = LLVMLookupIntrinsicID("llvm.masked.store", 17);
    m.store = LLVMGetIntrinsicDeclaration(g->mod, id, over, 2);
    m.store_ty = LLVMIntrinsicGetType(g->ctx, id, over, 2);
    return m;
}

static LLVMValueRef elem_align(mt_gemm_gen *g)
{
    return LLVMConstInt(g->i32, (unsigned long long)g->bl.esize, 0);
}

static LLVMValueRef mload(mt_gemm_gen *g, const masked_ops *m, LLVMValueRef p, LLVMValueRef mask)
{
    LLVMValueRef args[4] = {LLVMBuildBitCast(g->b, p, g->vtp, ""), elem_align(g), mask,
                            LLVMConstNull(g->vt)};
    return LLVMBuildCall2(g->b, m->load_ty, m->load, args, 4, "");
}

static void mstore(mt_gemm_gen *g, const masked_ops *m, LLVMValueRef v, LLVMValueRef p,
                   LLVMValueRef mask)
{
    LLVMValueRef args[4] = {v, LLVMBuildBitCast(g->b, p, g->vtp, ""), elem_align(g), mask};
    LLVMBuildCall2(g->b, m->store_ty, m->store, args, 4, "");
}

/* The lanes of vector v of a block with `rem` valid columns: lane l is valid when
 * v * VL + l < rem. */
static LLVMValueRef lane_mask(mt_gemm_gen *g, LLVMValueRef rem, int v)
{
    int vl = g->bl.vl;
    LLVMTypeRef iv = LLVMVectorType(g->i64, (unsigned)vl);
    LLVMValueRef lanes[64];
    for (int l = 0; l < vl; l++)
        lanes[l] = c64(g, (int64_t)v * vl + l);
    LLVMValueRef left = LLVMBuildInsertElement(g->b, LLVMGetUndef(iv), rem, c64(g, 0), "");
    left = LLVMBuildShuffleVector(g->b, left, LLVMGetUndef(iv),
                                  LLVMConstNull(LLVMVectorType(g->i32, (unsigned)vl)), "");
    return LLVMBuildICmp(g->b, LLVMIntSLT, LLVMConstVector(lanes, (unsigned)vl), left, "lanes");
}

/* One block of NB vectors at column jb of row crow, over all K; masks NULL for a full block. */
static void emit_block(mt_gemm_gen *g, const mt_gemm_small *s, const masked_ops *m,
                       LLVMValueRef abase, LLVMValueRef astep, LLVMValueRef crow, LLVMValueRef jb,
                       LLVMValueRef rem, bool masked)
{
    const mt_gemm_blocking *bl = &g->bl;
    LLVMValueRef masks[NB] = {0}, acc[NB];
    for (int v = 0; v < NB; v++) {
        if (masked)
            masks[v] = lane_mask(g, rem, v);
        acc[v] = var(g, g->vt, "acc");
    }
    LLVMValueRef bcol = gep(g, s->B, jb);
    LLVMValueRef aslot = var(g, g->tp, "a_at"), bslot = var(g, g->tp, "b_at");
    mt_gemm_loop lpc;
    LLVMValueRef pc = loop_open(g, &lpc, c64(g, 0), s->K, bl->kc, "pc");
    LLVMValueRef kend = add(g, pc, min_v(g, c64(g, bl->kc), sub(g, s->K, pc)));
    LLVMValueRef first = LLVMBuildAnd(g->b, LLVMBuildICmp(g->b, LLVMIntEQ, s->acc, c64(g, 0), ""),
                                      LLVMBuildICmp(g->b, LLVMIntEQ, pc, c64(g, 0), ""), "first");
    for (int v = 0; v < NB; v++)
        LLVMBuildStore(g->b, LLVMConstNull(g->vt), acc[v]);
    LLVMBuildStore(g->b, gep(g, abase, mul(g, pc, astep)), aslot);
    LLVMBuildStore(g->b, gep(g, bcol, mul(g, pc, s->ldb)), bslot);
    /* k in [pc, kend): UNROLL steps at a time, then the rest; one multiply-add per k. A and
     * B are walked by pointers, which keeps the loop free of index arithmetic. */
    LLVMValueRef k4 = add(g, pc, LLVMBuildAnd(g->b, sub(g, kend, pc), c64(g, -UNROLL), ""));
    for (int pass = 0; pass < 2; pass++) {
        mt_gemm_loop lk;
        int n = pass == 0 ? UNROLL : 1;
        loop_open(g, &lk, pass == 0 ? pc : k4, pass == 0 ? k4 : kend, n, "k");
        LLVMValueRef ap = LLVMBuildLoad2(g->b, g->tp, aslot, "");
        LLVMValueRef brow = LLVMBuildLoad2(g->b, g->tp, bslot, "");
        for (int u = 0; u < n; u++) {
            LLVMValueRef a = splat(g, load_elem(g, ap));
            for (int v = 0; v < NB; v++) {
                LLVMValueRef p = gep(g, brow, c64(g, (int64_t)v * bl->vl));
                LLVMValueRef b = masked ? mload(g, m, p, masks[v]) : load_vec(g, p, false);
                LLVMValueRef old = LLVMBuildLoad2(g->b, g->vt, acc[v], "");
                LLVMBuildStore(g->b, madd(g, a, b, old), acc[v]);
            }
            ap = gep(g, ap, astep);
            brow = gep(g, brow, s->ldb);
        }
        LLVMBuildStore(g->b, ap, aslot);
        LLVMBuildStore(g->b, brow, bslot);
        loop_close(g, &lk);
    }
    /* As the micro-kernel's SET and ADD: C = acc, or C = C + acc. */
    for (int v = 0; v < NB; v++) {
        LLVMValueRef p = gep(g, crow, add(g, jb, c64(g, (int64_t)v * bl->vl)));
        LLVMValueRef t = LLVMBuildLoad2(g->b, g->vt, acc[v], "");
        LLVMValueRef old = masked ? mload(g, m, p, masks[v]) : load_vec(g, p, false);
        LLVMValueRef out = LLVMBuildSelect(g->b, first, t, LLVMBuildFAdd(g->b, old, t, ""), "");
        if (masked)
            mstore(g, m, out, p, masks[v]);
        else
            store_vec(g, out, p, false);
    }
    loop_close(g, &lpc);
}

/* The body of the few-rows function: void few(T *A, T *B, T *C, i64 m0, i64 m1, i64 N, i64 K,
 * i64 lda, i64 ldb, i64 ldc, i64 acc, i64 trans_a). */
static void emit_rows(mt_gemm_gen *g, LLVMValueRef fn)
{
    open_fn(g, fn);
    LLVMValueRef P[12];
    for (unsigned i = 0; i < 12; i++)
        P[i] = LLVMGetParam(fn, i);
    mt_gemm_small sv = {
        P[0], P[1], P[2], P[3], P[4],  P[5],
        P[6], P[7], P[8], P[9], P[10], LLVMBuildICmp(g->b, LLVMIntNE, P[11], c64(g, 0), "trans_a")};
    const mt_gemm_small *s = &sv;
    masked_ops m = masked_intrinsics(g);
    int64_t w = (int64_t)NB * g->bl.vl;
    mt_gemm_loop li, lj;
    LLVMValueRef i = loop_open(g, &li, s->m0, s->m1, 1, "small_i");
    LLVMValueRef crow = gep(g, s->C, mul(g, i, s->ldc));
    /* A[i, k] is at abase + k * astep: A[i*lda + k], or A[k*lda + i] when transposed. */
    LLVMValueRef abase = LLVMBuildSelect(g->b, s->trans_a, gep(g, s->A, i),
                                         gep(g, s->A, mul(g, i, s->lda)), "abase");
    LLVMValueRef astep = LLVMBuildSelect(g->b, s->trans_a, s->lda, c64(g, 1), "astep");
    LLVMValueRef jb = loop_open(g, &lj, c64(g, 0), s->N, w, "small_j");
    LLVMValueRef rem = sub(g, s->N, jb);
    LLVMBasicBlockRef full = block(g, "small_full"), part = block(g, "small_part");
    LLVMBasicBlockRef next = block(g, "small_next");
    LLVMBuildCondBr(g->b, LLVMBuildICmp(g->b, LLVMIntSGE, rem, c64(g, w), ""), full, part);
    LLVMPositionBuilderAtEnd(g->b, full);
    emit_block(g, s, &m, abase, astep, crow, jb, rem, false);
    LLVMBuildBr(g->b, next);
    LLVMPositionBuilderAtEnd(g->b, part);
    emit_block(g, s, &m, abase, astep, crow, jb, rem, true);
    LLVMBuildBr(g->b, next);
    LLVMPositionBuilderAtEnd(g->b, next);
    loop_close(g, &lj);
    loop_close(g, &li);
    LLVMBuildRetVoid(g->b);
    close_fn(g);
}

/* A function of its own, internal to the driver's module: inside the driver, with its many
 * live values, the loop reloaded strides from the stack at every k. */
void mt_gemm_emit_small_rows(mt_gemm_gen *g, const mt_gemm_small *s)
{
    char name[MT_LLVM_GEMM_NAME + 8];
    mt_llvm_gemm_piece_name(&g->piece, name);
    strcat(name, ".few");
    LLVMValueRef fn = LLVMGetNamedFunction(g->mod, name);
    LLVMTypeRef params[12] = {g->tp,  g->tp,  g->tp,  g->i64, g->i64, g->i64,
                              g->i64, g->i64, g->i64, g->i64, g->i64, g->i64};
    LLVMTypeRef fty = LLVMFunctionType(LLVMVoidTypeInContext(g->ctx), params, 12, 0);
    if (!fn) {
        fn = LLVMAddFunction(g->mod, name, fty);
        LLVMSetLinkage(fn, LLVMInternalLinkage);
        add_fn_attr(g, fn, "nounwind");
        add_fn_attr(g, fn, "noinline");
        add_string_attr(g, fn, "mtc-gemm", "1");
        for (unsigned i = 0; i < 3; i++)
            add_param_attr(g, fn, i, "noalias");
        if (g->bl.isa == MT_LLVM_GEMM_ISA_AVX512) {
            add_string_attr(g, fn, "prefer-vector-width", "512");
            add_string_attr(g, fn, "min-legal-vector-width", "512");
        }
        mt_gemm_gen h = *g;
        h.b = LLVMCreateBuilderInContext(g->ctx);
        h.ab = LLVMCreateBuilderInContext(g->ctx);
        emit_rows(&h, fn);
        LLVMDisposeBuilder(h.b);
        LLVMDisposeBuilder(h.ab);
    }
    LLVMValueRef args[12] = {s->A,   s->B,   s->C,   s->m0,
                             s->m1,  s->N,   s->K,   s->lda,
                             s->ldb, s->ldc, s->acc, LLVMBuildZExt(g->b, s->trans_a, g->i64, "")};
    LLVMBuildCall2(g->b, fty, fn, args, 12, "");
}
