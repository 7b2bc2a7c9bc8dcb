/* emit_small_gemm.c - matrix products too small for the shared GEMM, as plain loops.
 *
 * The shared GEMM (gemm.c) packs panels of A and B into its scratch and runs a register-
 * blocked kernel over them: the right thing from some ten thousand multiply-adds up, but a
 * fixed cost of a microsecond or more per call, which a tiny product never earns back. In
 * MiniTorch's Module 3 step (bench/small_step.c) the products with one output column or a
 * reduction of one or two steps (x . W1 with K = 2, h . W3 with N = 1, their gradients) took
 * 0.5 to 2.6 us each through the GEMM, for 1,000 to 2,000 multiply-adds.
 *
 * Below MT_SMALL_GEMM_MACS multiply-adds in all, a product's rows are emitted in place as
 * one of two loop nests, whichever reads memory contiguously in its inner loop:
 *
 *   dot    C[i,n] = sum over k of A[i,k] * B[k,n]    when A's row and B's column are both
 *          contiguous along k (B transposed, or one column); the k loop is a reduction the
 *          vectorizer may reassociate, in an order fixed by K alone
 *   axpy   C[i,:] = 0; for each k: C[i,:] += A[i,k] * B[k,:]    otherwise: the inner loop
 *          runs along B's and C's rows, and each element is summed in the order k = 0, 1, ...
 *   column C[:,0] = 0; for each k: C[:,0] += A[:,k] * B[k,0]    for one output column of an
 *          A stored transposed (A[:,k] contiguous), no batch axes: the axpy form's operations
 *          per element, with the inner loop along the rows of the call. A weight gradient
 *          h^T . dy (100 x 10 x 1) took 0.43 us as axpy, one row at a time.
 *   short  for each n: c = 0; c += A[i,k] * B[k,n] for k = 0 .. K-1 (unrolled); C[i,n] = c
 *          when K is at most SHORT_K: the axpy form's operations per element, the sum in a
 *          register rather than through C (axpy zeroed each row with a memset call and sent
 *          the scalar tail through memory at every k: x . W1, 10 x 2 x 100, took 0.32 us).
 *
 * Multiply-adds are llvm.fmuladd (fused where the CPU has FMA, as the GEMM's are). Every row
 * is computed by the same code whatever range of rows a call covers, so results do not depend
 * on how the executor splits a kernel over threads.
 */
#include "codegen/llvm/emit_internal.h"
#include "ir/type.h"

/* Multiply-adds of the whole product (every batch) below which it is emitted in place. */
#define MT_SMALL_GEMM_MACS 16384
/* The longest sum the short form unrolls. */
#define SHORT_K 16

int mt_emit_small_gemm_fits(const mt_llvm_gemm_desc *d)
{
    if (d->accumulate || (d->dtype != MT_DTYPE_F32 && d->dtype != MT_DTYPE_F64))
        return 0;
    int64_t macs = d->M * d->N * d->K;
    for (int i = 0; i < d->nbatch && macs <= MT_SMALL_GEMM_MACS; i++)
        macs *= d->batch_dims[i];
    return macs <= MT_SMALL_GEMM_MACS;
}

static LLVMValueRef c64(emitter *e, int64_t v)
{
    return LLVMConstInt(e->t_i64, (unsigned long long)v, 0);
}

static LLVMValueRef mad(emitter *e, LLVMValueRef x, LLVMValueRef y, LLVMValueRef z)
{
    LLVMTypeRef t = LLVMTypeOf(x);
    unsigned id = LLVMLookupIntrinsicID("llvm.fmuladd", 12);
    LLVMValueRef fn = LLVMGetIntrinsicDeclaration(e->M, id, &t, 1);
    LLVMValueRef args[3] = {x, y, z};
    return LLVMBuildCall2(e->B, LLVMIntrinsicGetType(e->C, id, &t, 1), fn, args, 3, "");
}

static LLVMValueRef load(emitter *e, LLVMTypeRef t, LLVMValueRef base, LLVMValueRef at)
{
    return LLVMBuildLoad2(e->B, t, LLVMBuildGEP2(e->B, t, base, &at, 1, ""), "");
}

static LLVMValueRef add(emitter *e, LLVMValueRef a, LLVMValueRef b)
{
    return LLVMBuildNUWAdd(e->B, a, b, "");
}

static LLVMValueRef mul(emitter *e, LLVMValueRef a, int64_t b)
{
    return b == 1 ? a : LLVMBuildNUWMul(e->B, a, c64(e, b), "");
}

/* Row r's offsets into A, B and C: the batch index r / M spread over the batch axes. */
static void row_offsets(emitter *e, const mt_llvm_gemm_desc *d, LLVMValueRef r, LLVMValueRef *i,
                        LLVMValueRef off[3])
{
    LLVMValueRef batch = LLVMBuildUDiv(e->B, r, c64(e, d->M), "");
    *i = LLVMBuildURem(e->B, r, c64(e, d->M), "");
    off[0] = off[1] = off[2] = c64(e, 0);
    for (int x = d->nbatch - 1; x >= 0; x--) {
        LLVMValueRef at = LLVMBuildURem(e->B, batch, c64(e, d->batch_dims[x]), "");
        batch = LLVMBuildUDiv(e->B, batch, c64(e, d->batch_dims[x]), "");
        off[0] = add(e, off[0], mul(e, at, d->batch_a[x]));
        off[1] = add(e, off[1], mul(e, at, d->batch_b[x]));
        off[2] = add(e, off[2], mul(e, at, d->batch_c[x]));
    }
}

void mt_emit_small_gemm(emitter *e, const mt_llvm_gemm_desc *d, LLVMValueRef A, LLVMValueRef B,
                        LLVMValueRef C, LLVMValueRef lo, LLVMValueRef hi)
{
    LLVMBuilderRef b = e->B;
    LLVMTypeRef t = d->dtype == MT_DTYPE_F64 ? e->t_f64 : e->t_f32;
    LLVMValueRef zero = LLVMConstReal(t, 0.0), k0 = c64(e, 0);
    /* A[i,k] at i*sa_i + k*sa_k, B[k,n] at k*sb_k + n*sb_n. */
    int64_t sa_i = d->trans_a ? 1 : d->lda, sa_k = d->trans_a ? d->lda : 1;
    int64_t sb_k = d->trans_b ? 1 : d->ldb, sb_n = d->trans_b ? d->ldb : 1;
    int dot = (sa_k == 1 || d->M == 1) && (sb_k == 1 || d->N == 1);
    int column = !dot && sa_i == 1 && d->N == 1 && d->nbatch == 0 && d->K > 0;
    int short_k = !column && d->K <= SHORT_K && d->N > 0;
    dot = dot && !short_k;
    LLVMValueRef acc = dot ? mt_emit_entry_alloca(e, t, "dot") : NULL;
    LLVMBasicBlockRef rows = LLVMAppendBasicBlockInContext(e->C, e->fn, "small.gemm");
    LLVMBasicBlockRef done = LLVMAppendBasicBlockInContext(e->C, e->fn, "small.gemm.done");
    LLVMBuildCondBr(b, LLVMBuildICmp(b, LLVMIntSLT, lo, hi, ""), rows, done);
    LLVMPositionBuilderAtEnd(b, rows);
    mt_emit_loop lr, ln, lk;
    if (column) {
        LLVMValueRef r = mt_emit_loop_open(e, &lr, lo);
        LLVMBuildStore(b, zero, LLVMBuildGEP2(b, t, C, (LLVMValueRef[]){mul(e, r, d->ldc)}, 1, ""));
        mt_emit_loop_close(e, &lr, 1, hi, 1);
        LLVMValueRef k = mt_emit_loop_open(e, &lk, k0);
        LLVMValueRef y = load(e, t, B, mul(e, k, sb_k));
        LLVMValueRef a_col = mul(e, k, sa_k);
        r = mt_emit_loop_open(e, &lr, lo);
        LLVMValueRef at = LLVMBuildGEP2(b, t, C, (LLVMValueRef[]){mul(e, r, d->ldc)}, 1, "");
        LLVMValueRef x = load(e, t, A, add(e, a_col, r));
        LLVMBuildStore(b, mad(e, x, y, LLVMBuildLoad2(b, t, at, "")), at);
        mt_emit_loop_close(e, &lr, 1, hi, 1);
        mt_emit_loop_close(e, &lk, 1, c64(e, d->K), 0);
        LLVMBuildBr(b, done);
        LLVMPositionBuilderAtEnd(b, done);
        return;
    }
    LLVMValueRef r = mt_emit_loop_open(e, &lr, lo), i, off[3];
    row_offsets(e, d, r, &i, off);
    LLVMValueRef a_row = add(e, off[0], mul(e, i, sa_i));
    LLVMValueRef c_row = add(e, off[2], mul(e, i, d->ldc));
    if (short_k) {
        LLVMValueRef x[SHORT_K];
        for (int64_t k = 0; k < d->K; k++)
            x[k] = load(e, t, A, add(e, a_row, c64(e, k * sa_k)));
        LLVMValueRef n = mt_emit_loop_open(e, &ln, k0);
        LLVMValueRef b_col = add(e, off[1], mul(e, n, sb_n)), c = zero;
        for (int64_t k = 0; k < d->K; k++)
            c = mad(e, x[k], load(e, t, B, add(e, b_col, c64(e, k * sb_k))), c);
        LLVMBuildStore(b, c, LLVMBuildGEP2(b, t, C, (LLVMValueRef[]){add(e, c_row, n)}, 1, ""));
        mt_emit_loop_close(e, &ln, 1, c64(e, d->N), 1);
    } else if (dot) {
        LLVMValueRef n = mt_emit_loop_open(e, &ln, k0);
        LLVMValueRef b_col = add(e, off[1], mul(e, n, sb_n));
        LLVMBuildStore(b, zero, acc);
        LLVMValueRef k = mt_emit_loop_open(e, &lk, k0);
        LLVMValueRef x = load(e, t, A, add(e, a_row, mul(e, k, sa_k)));
        LLVMValueRef y = load(e, t, B, add(e, b_col, mul(e, k, sb_k)));
        LLVMBuildStore(b, mad(e, x, y, LLVMBuildLoad2(b, t, acc, "")), acc);
        mt_emit_loop_close(e, &lk, 1, c64(e, d->K), 1);
        LLVMValueRef at = LLVMBuildGEP2(b, t, C, (LLVMValueRef[]){add(e, c_row, n)}, 1, "");
        LLVMBuildStore(b, LLVMBuildLoad2(b, t, acc, ""), at);
        mt_emit_loop_close(e, &ln, 1, c64(e, d->N), 0);
    } else {
        LLVMValueRef n = mt_emit_loop_open(e, &ln, k0);
        LLVMBuildStore(b, zero, LLVMBuildGEP2(b, t, C, (LLVMValueRef[]){add(e, c_row, n)}, 1, ""));
        mt_emit_loop_close(e, &ln, 1, c64(e, d->N), 1);
        LLVMValueRef k = mt_emit_loop_open(e, &lk, k0);
        LLVMValueRef x = load(e, t, A, add(e, a_row, mul(e, k, sa_k)));
        LLVMValueRef b_row = add(e, off[1], mul(e, k, sb_k));
        n = mt_emit_loop_open(e, &ln, k0);
        LLVMValueRef at = LLVMBuildGEP2(b, t, C, (LLVMValueRef[]){add(e, c_row, n)}, 1, "");
        LLVMValueRef y = load(e, t, B, add(e, b_row, mul(e, n, sb_n)));
        LLVMBuildStore(b, mad(e, x, y, LLVMBuildLoad2(b, t, at, "")), at);
        mt_emit_loop_close(e, &ln, 1, c64(e, d->N), 1);
        mt_emit_loop_close(e, &lk, 1, c64(e, d->K), 0);
    }
    mt_emit_loop_close(e, &lr, 1, hi, 0);
    LLVMBuildBr(b, done);
    LLVMPositionBuilderAtEnd(b, done);
}
