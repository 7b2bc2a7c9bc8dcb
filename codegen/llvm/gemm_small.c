/* gemm_small.c - the GEMM driver's path for products with few rows: no packing, A and B read
 * where they lie.
 *
 * Why: the packed path (gemm.c) copies a KC x NC block of B into a panel for every MC rows and
 * fills MR-row micro-tiles. With one row (batch-1 inference) that means copying all of B,
 * the weights, on every call and doing MR times the multiply-adds: the MLP 784-256-128-10 of
 * bench/aot.sh took 64 us, 36% of it packing B. With 8 or 16 rows (a convolution's product
 * per image: O rows of weights times the image's patches) the packing of B, used by those
 * rows only, cost about 40% of the kernel's time. B's rows are contiguous, so vectors of B
 * load straight from it, and A's elements are broadcast from where they are. A transposed B
 * (the gradient dy . W^T) is packed once by the driver, all of it, into NR-column panels
 * (pstride says where): for 10 rows the packed path computed 16, with a partial edge tile.
 *
 * Shape: up to ONE_ROW rows go one at a time, NB = 8 vectors wide (eight independent FMA
 * chains cover the FMA latency); more go MR rows at a time by the micro-kernel's NV vectors,
 * and the rows after the last whole tile one at a time again.
 * For each block and each K block of KC steps the accumulators start at zero and take one
 * multiply-add per k, in increasing k, of A[i, k] broadcast times B[k, j..j+VL); then C = acc
 * for the first K block (unless accumulating) and C = C + acc for later ones. That is exactly
 * what the micro-kernel and its SET / ADD modes do to each element, with the same KC, so the
 * two paths give the same bits: the driver may choose either for any row range, and a split
 * of M among threads never changes a result. The last, partial column block uses masked
 * loads and stores.
 */
#include "codegen/llvm/gemm_gen.h"

/* UNROLL 1: the k loops stay rolled. Unrolled by 4 they ran no faster (one add and a branch
 * next to 8 or 16 FMAs), and with them this function took LLVM's code generator about
 * 107 ms of CPU (most in loop strength reduction) against 45 ms now: the driver piece is on
 * the cold JIT's critical path. */
enum { NB = 8, UNROLL = 1, ONE_ROW = 4 };

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
    /* In i32 lanes: narrower vectors for the code generator than i64 ones. */
    int vl = g->bl.vl;
    LLVMTypeRef iv = LLVMVectorType(g->i32, (unsigned)vl);
    LLVMValueRef lanes[64];
    for (int l = 0; l < vl; l++)
        lanes[l] = LLVMConstInt(g->i32, (unsigned long long)((int64_t)v * vl + l), 0);
    LLVMValueRef r32 = LLVMBuildTrunc(g->b, min_v(g, rem, c64(g, 1 << 20)), g->i32, "");
    LLVMValueRef left = LLVMBuildInsertElement(g->b, LLVMGetUndef(iv), r32, c64(g, 0), "");
    left = LLVMBuildShuffleVector(g->b, left, LLVMGetUndef(iv),
                                  LLVMConstNull(LLVMVectorType(g->i32, (unsigned)vl)), "");
    return LLVMBuildICmp(g->b, LLVMIntSLT, LLVMConstVector(lanes, (unsigned)vl), left, "lanes");
}

/* Where a block's rows are: R rows of A (A[row, k] at abase[r] + k * astep) and their rows
 * of C. */
typedef struct rows {
    int n;
    LLVMValueRef abase[8], astep, crow[8];
} rows;

/* A block of rows->n rows by nv vectors at column jb, over all K; masked for the last,
 * partial column block. */
static void emit_block(mt_gemm_gen *g, const mt_gemm_small *s, const masked_ops *m, const rows *rw,
                       int nv, LLVMValueRef jb, LLVMValueRef rem, bool masked)
{
    const mt_gemm_blocking *bl = &g->bl;
    LLVMValueRef masks[NB] = {0}, acc[64], bv[NB];
    for (int v = 0; v < nv; v++)
        masks[v] = masked ? lane_mask(g, rem, v) : NULL;
    for (int i = 0; i < rw->n * nv; i++)
        acc[i] = var(g, g->vt, "acc");
    /* Vector v of the block: columns jb + v*VL.. of B, in the panel of NR columns they fall in
     * (jb is a multiple of VL, and of NR when nv > 1). Read in place, panels are NR apart and
     * this is jb + v*VL. */
    LLVMValueRef bcol = gep(g, s->B,
                            add(g, mul(g, LLVMBuildSDiv(g->b, jb, c64(g, bl->nr), ""), s->pstride),
                                LLVMBuildSRem(g->b, jb, c64(g, bl->nr), "")));
    LLVMValueRef voff[NB];
    for (int v = 0; v < nv; v++)
        voff[v] =
            add(g, mul(g, c64(g, v / bl->nv), s->pstride), c64(g, (int64_t)(v % bl->nv) * bl->vl));
    LLVMValueRef aslot = var(g, g->i64, "a_at"), bslot = var(g, g->tp, "b_at");
    mt_gemm_loop lpc;
    LLVMValueRef pc = loop_open(g, &lpc, c64(g, 0), s->K, bl->kc, "pc");
    LLVMValueRef kend = add(g, pc, min_v(g, c64(g, bl->kc), sub(g, s->K, pc)));
    LLVMValueRef first = LLVMBuildAnd(g->b, LLVMBuildICmp(g->b, LLVMIntEQ, s->acc, c64(g, 0), ""),
                                      LLVMBuildICmp(g->b, LLVMIntEQ, pc, c64(g, 0), ""), "first");
    for (int i = 0; i < rw->n * nv; i++)
        LLVMBuildStore(g->b, LLVMConstNull(g->vt), acc[i]);
    LLVMBuildStore(g->b, mul(g, pc, rw->astep), aslot);
    LLVMBuildStore(g->b, gep(g, bcol, mul(g, pc, s->ldb)), bslot);
    /* k in [pc, kend): UNROLL steps at a time, then the rest; one multiply-add per k. B is
     * walked by a pointer and A by an offset, which keeps the loop free of multiplications. */
    LLVMValueRef k4 =
        UNROLL > 1 ? add(g, pc, LLVMBuildAnd(g->b, sub(g, kend, pc), c64(g, -UNROLL), "")) : pc;
    for (int pass = UNROLL > 1 ? 0 : 1; pass < 2; pass++) {
        mt_gemm_loop lk;
        int n = pass == 0 ? UNROLL : 1;
        loop_open(g, &lk, pass == 0 ? pc : k4, pass == 0 ? k4 : kend, n, "k");
        LLVMValueRef ak = LLVMBuildLoad2(g->b, g->i64, aslot, "");
        LLVMValueRef brow = LLVMBuildLoad2(g->b, g->tp, bslot, "");
        for (int u = 0; u < n; u++) {
            for (int v = 0; v < nv; v++) {
                LLVMValueRef p = gep(g, brow, voff[v]);
                bv[v] = masked ? mload(g, m, p, masks[v]) : load_vec(g, p, false);
            }
            for (int r = 0; r < rw->n; r++) {
                LLVMValueRef a = splat(g, load_elem(g, gep(g, rw->abase[r], ak)));
                for (int v = 0; v < nv; v++) {
                    LLVMValueRef old = LLVMBuildLoad2(g->b, g->vt, acc[r * nv + v], "");
                    LLVMBuildStore(g->b, madd(g, a, bv[v], old), acc[r * nv + v]);
                }
            }
            ak = add(g, ak, rw->astep);
            brow = gep(g, brow, s->ldb);
        }
        LLVMBuildStore(g->b, ak, aslot);
        LLVMBuildStore(g->b, brow, bslot);
        loop_close(g, &lk);
    }
    /* As the micro-kernel's SET and ADD: C = acc, or C = C + acc; rows past the end not at
     * all. A select, not a branch per mode: half the code to compile, and reading C for the
     * first K block measured no slower. */
    for (int r = 0; r < rw->n; r++) {
        for (int v = 0; v < nv; v++) {
            LLVMValueRef p = gep(g, rw->crow[r], add(g, jb, c64(g, (int64_t)v * bl->vl)));
            LLVMValueRef t = LLVMBuildLoad2(g->b, g->vt, acc[r * nv + v], "");
            LLVMValueRef old = masked ? mload(g, m, p, masks[v]) : load_vec(g, p, false);
            LLVMValueRef out = LLVMBuildSelect(g->b, first, t, LLVMBuildFAdd(g->b, old, t, ""), "");
            if (masked)
                mstore(g, m, out, p, masks[v]);
            else
                store_vec(g, out, p, false);
        }
    }
    loop_close(g, &lpc);
}

/* Columns [j0, jend) of the rows rw in blocks of nv vectors: the full blocks, then with
 * `tail` what is left, masked: a tile's one vector at a time (a 100-column product's tail of 4
 * columns took an eighth of its tiles' multiply-adds as a block of two vectors, and a loop of
 * one block is less code to compile than a block of each width), a row's in one block. */
static void emit_columns(mt_gemm_gen *g, const mt_gemm_small *s, const masked_ops *m,
                         const rows *rw, int nv, LLVMValueRef j0, LLVMValueRef jend, bool tail)
{
    int64_t w = (int64_t)nv * g->bl.vl;
    LLVMValueRef full_end = sub(g, jend, LLVMBuildSRem(g->b, sub(g, jend, j0), c64(g, w), ""));
    mt_gemm_loop lj;
    LLVMValueRef jb = loop_open(g, &lj, j0, full_end, w, "few_j");
    emit_block(g, s, m, rw, nv, jb, sub(g, jend, jb), false);
    loop_close(g, &lj);
    if (!tail)
        return;
    if (rw->n > 1) {
        mt_gemm_loop lv;
        jb = loop_open(g, &lv, full_end, jend, g->bl.vl, "few_v");
        emit_block(g, s, m, rw, 1, jb, sub(g, jend, jb), true);
        loop_close(g, &lv);
        return;
    }
    LLVMBasicBlockRef part = block(g, "few_part"), next = block(g, "few_next");
    LLVMBuildCondBr(g->b, LLVMBuildICmp(g->b, LLVMIntSLT, full_end, jend, ""), part, next);
    LLVMPositionBuilderAtEnd(g->b, part);
    emit_block(g, s, m, rw, nv, full_end, sub(g, jend, full_end), true);
    LLVMBuildBr(g->b, next);
    LLVMPositionBuilderAtEnd(g->b, next);
}

/* A[row, k] is at abase + k * astep: A[row*lda + k], or A[k*lda + row] when transposed. */
static LLVMValueRef a_row(mt_gemm_gen *g, const mt_gemm_small *s, LLVMValueRef row)
{
    return LLVMBuildSelect(g->b, s->trans_a, gep(g, s->A, row), gep(g, s->A, mul(g, row, s->lda)),
                           "abase");
}

/* The body of the few-rows function: void few(T *A, T *B, T *C, i64 m0, i64 m1, i64 N, i64 K,
 * i64 lda, i64 ldb, i64 ldc, i64 acc, i64 trans_a, i64 pstride). Up to ONE_ROW rows go one at
 * a time, NB vectors wide (independent chains enough for one row); more go MR rows at a time
 * by the micro-kernel's NV vectors, the last, partial column block masked, and the rows after
 * the last whole tile one at a time. Computing a partial tile's missing rows (reading the last
 * row again) or its last columns NB vectors wide row by row cost up to twice the multiply-adds
 * of the product itself: a 10 x 100 x 100 product ran at 38% of the FMA peak. */
static void emit_rows(mt_gemm_gen *g, LLVMValueRef fn)
{
    open_fn(g, fn);
    LLVMValueRef P[13];
    for (unsigned i = 0; i < 13; i++)
        P[i] = LLVMGetParam(fn, i);
    mt_gemm_small sv = {
        P[0], P[1], P[2], P[3], P[4],  P[5],
        P[6], P[7], P[8], P[9], P[10], LLVMBuildICmp(g->b, LLVMIntNE, P[11], c64(g, 0), "trans_a"),
        P[12]};
    const mt_gemm_small *s = &sv;
    masked_ops m = masked_intrinsics(g);
    LLVMValueRef astep = LLVMBuildSelect(g->b, s->trans_a, s->lda, c64(g, 1), "astep");
    int mr = (int)g->bl.mr;
    LLVMValueRef nrows = sub(g, s->m1, s->m0);
    LLVMValueRef few = LLVMBuildICmp(g->b, LLVMIntSLE, nrows, c64(g, ONE_ROW), "");
    /* Tiles cover rows [m0, tend); the rows from i0 on go one at a time. */
    LLVMValueRef tend = sub(g, s->m1, LLVMBuildSRem(g->b, nrows, c64(g, mr), ""));
    LLVMValueRef i0 = LLVMBuildSelect(g->b, few, s->m0, tend, "i0");
    LLVMBasicBlockRef one = block(g, "one_row"), tiles = block(g, "row_tiles");
    LLVMBuildCondBr(g->b, few, one, tiles);

    LLVMPositionBuilderAtEnd(g->b, tiles);
    mt_gemm_loop lt;
    LLVMValueRef ir = loop_open(g, &lt, s->m0, tend, mr, "few_tile");
    rows rt = {.n = mr, .astep = astep};
    for (int r = 0; r < mr; r++) {
        LLVMValueRef row = add(g, ir, c64(g, r));
        rt.abase[r] = a_row(g, s, row);
        rt.crow[r] = gep(g, s->C, mul(g, row, s->ldc));
    }
    emit_columns(g, s, &m, &rt, (int)g->bl.nv, c64(g, 0), s->N, true);
    loop_close(g, &lt);
    LLVMBuildBr(g->b, one);

    LLVMPositionBuilderAtEnd(g->b, one);
    mt_gemm_loop li;
    LLVMValueRef i = loop_open(g, &li, i0, s->m1, 1, "few_i");
    rows r1 = {.n = 1,
               .abase = {a_row(g, s, i)},
               .astep = astep,
               .crow = {gep(g, s->C, mul(g, i, s->ldc))}};
    emit_columns(g, s, &m, &r1, NB, c64(g, 0), s->N, true);
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
    LLVMTypeRef params[13] = {g->tp,  g->tp,  g->tp,  g->i64, g->i64, g->i64, g->i64,
                              g->i64, g->i64, g->i64, g->i64, g->i64, g->i64};
    LLVMTypeRef fty = LLVMFunctionType(LLVMVoidTypeInContext(g->ctx), params, 13, 0);
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
    LLVMValueRef args[13] = {s->A,      s->B,   s->C,   s->m0,
                             s->m1,     s->N,   s->K,   s->lda,
                             s->ldb,    s->ldc, s->acc, LLVMBuildZExt(g->b, s->trans_a, g->i64, ""),
                             s->pstride};
    LLVMBuildCall2(g->b, fty, fn, args, 13, "");
}
