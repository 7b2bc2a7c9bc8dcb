/* gemm.c - a packed, register-blocked GEMM emitted as LLVM IR, generic in its sizes.
 *
 * Part of the LLVM CPU backend: the renderer (emit.c) turns each GEMM statement of a matmul
 * kernel into a call of a shared driver with the product's descriptor (sizes, strides, batch
 * axes) as run-time data, and the executor splits M across its thread pool. No BLAS is called.
 * This file has the blocking, the driver (the loops around the micro-kernel, batches, the
 * scratch), the pieces' names and the entry points; gemm_kernel.c emits the micro-kernel and
 * the packing. docs/gemm.md has the design and the measurements.
 *
 * Why generic: specialised per static shape, every matmul of a program brought its own GEMM,
 * and each cost 55 to 97 ms of LLVM time (an MLP training step compiled in 240 ms). The only
 * things worth fixing at compile time are those that shape the code: element type, vector
 * width and register block, the f64 flush and which operand is read transposed. Sizes enter
 * as loop bounds and strides, which cost nothing measurable at run time.
 *
 * Dims: C[M,N] = A[M,K] . B[K,N]. The structure is BLIS's, written for row-major C with the
 * vector lanes along N:
 *
 *   for ic in [m_begin, m_end) step MC         rows of this call, MC at a time
 *     for pc in [0, K) step KC                 fixed order: see "Determinism" below
 *       pack A[ic:ic+MC, pc:pc+KC] -> Ap       MR-row panels, k-major, zero-padded
 *       for jc in [0, N) step NC
 *         pack B[pc:pc+KC, jc:jc+NC] -> Bp     NR-column panels, k-major; Bp stays in L2
 *         for ir step MR                       one Ap panel (MR x KC) stays in L1 ...
 *           for jr step NR                     ... while the Bp panels stream from L2
 *             micro-kernel: an MR x NR tile of C held in MR * NV vector registers
 *
 * The micro-kernel broadcasts one element of A per row and multiplies it into NV vectors of
 * B with FMA, so a k step costs NV vector loads, MR broadcasts and MR * NV FMAs.
 *
 * Edges: packing pads partial panels (with zeros; a transposed B's mostly with copies of its
 * last column), so the micro-kernel always computes a full tile; a partial tile goes to a
 * scratch tile and only its valid part is added to C. A
 * padded row or column only ever meets other padded outputs, so valid outputs see exactly
 * the operations a full tile would do.
 *
 * Determinism: every C element is computed by one call, and its value depends only on the
 * static K blocking: within each KC block the kernel accumulates from zero with one FMA per
 * k in increasing k order, and blocks are added into C in increasing pc order. Neither
 * depends on m_begin, m_end, MC or where the element sits in a tile (vector lanes do not
 * interact), so any split of M gives bit-identical results.
 *
 * Precision: accumulation is in the dtype, f32 FMA for f32 (the interpreter accumulates in
 * double and rounds once). Restarting the accumulators at every KC block makes the sum
 * blockwise, which keeps the error growth to about sqrt(KC) + K/KC roundings instead of K;
 * with f64_flush the f32 chains are shorter still and their sums are added in f64.
 * docs/gemm.md reports the errors measured against a double reference.
 */
#include "codegen/llvm/gemm.h"

#include <stdio.h>
#include <string.h>

#include <llvm-c/Core.h>
#include <llvm-c/TargetMachine.h>

#include "codegen/llvm/gemm_gen.h"
#include "codegen/llvm/llvm.h"
#include "codegen/llvm/target.h"
#include "ir/type.h"

/* ---- blocking -------------------------------------------------------------------------- */

/* Row ranges (of one product, in one call) of at most ONE_ROWS rows skip packing and read A
 * and B in place (gemm_small.c): packing B pays only when many rows share it. Up to
 * SMALL_ROWS rows do too when the sums are short (K at most SMALL_K: the forward
 * convolutions of small nets, one product of O rows per image, with K = C*KH*KW), or when
 * they are whole register tiles (a multiple of MR), each of which streams B once: LeNet's
 * weight gradients, 8 and 16 rows with K = the image's pixels, ran 2 to 4 times faster in
 * place (16 x 4096 x 25: 44 against 107-170 us; 8 x 36864 x 25: 0.20 against 0.81 ms). With
 * leftover rows, which go one at a time and read all of B each, a long K stays packed (6 x
 * 9216 x 64 on an 8-row tile: 320 us in place, 180-220 packed). Any number of rows does when all of
 * B takes at most SMALL_B bytes, half of L1, where it stays: packing it bought nothing, and a
 * weight gradient h^T . dy of 100 x 10 x 100 ran 30% faster without. */
enum { ONE_ROWS = 4, SMALL_ROWS = 16, SMALL_K = 256, SMALL_B = 16384 };

static int64_t round_up(int64_t x, int64_t m) { return (x + m - 1) / m * m; }
static int64_t min64(int64_t a, int64_t b) { return a < b ? a : b; }

mt_llvm_gemm_isa mt_llvm_gemm_host_isa(void) { return mt_llvm_gemm_isa_of(mt_cpu_target_host()); }

mt_llvm_gemm_isa mt_llvm_gemm_isa_of(const mt_cpu_target *t)
{
    const char *f = t->features;
    if (strstr(f, "+avx512f"))
        return MT_LLVM_GEMM_ISA_AVX512;
    if (strstr(f, "+avx2") && strstr(f, "+fma"))
        return MT_LLVM_GEMM_ISA_AVX2;
    return MT_LLVM_GEMM_ISA_GENERIC;
}

static mt_llvm_gemm_isa resolve_isa(mt_llvm_gemm_isa isa)
{
    return isa == MT_LLVM_GEMM_ISA_HOST ? mt_llvm_gemm_host_isa() : isa;
}

/* Register blocks: with 16 vector registers, 6 x 2 accumulators plus 2 vectors of B and a
 * broadcast. With 32, 8 x 2 accumulators: as fast inside the kernel as 12 x 2 (16
 * independent FMA chains cover the latency) and faster overall, because the M of neural
 * network shapes is usually a multiple of 8, so no partial blocks (measured single-threaded:
 * +19% at n = 64, +5% at 128 and 256, +2% at 1024). The cache blocks are sized for 32 KiB L1
 * and >= 512 KiB L2 per core (Zen 3/4, Skylake-X): an Ap panel is 8 x 384 x 4 = 12 KiB, Bp is
 * 384 x 384 x 4 = 576 KiB. MC = 240 keeps the whole scratch under 1 MiB (it may live on a
 * thread's stack) while B is repacked only once per 240 rows. */
static mt_gemm_blocking blocking_for(mt_dtype dtype, mt_llvm_gemm_isa isa, int64_t f64_flush)
{
    mt_gemm_blocking bl;
    bl.isa = resolve_isa(isa);
    bl.esize = dtype == MT_DTYPE_F64 ? 8 : 4;
    int vbytes = bl.isa == MT_LLVM_GEMM_ISA_AVX512 ? 64 : bl.isa == MT_LLVM_GEMM_ISA_AVX2 ? 32 : 16;
    bl.vl = vbytes / bl.esize;
    bl.nv = 2;
    bl.fma = bl.isa != MT_LLVM_GEMM_ISA_GENERIC;
    bl.mr = bl.isa == MT_LLVM_GEMM_ISA_AVX512 ? 8 : 6;
    bl.nr = (int64_t)bl.nv * bl.vl;
    bl.kc = 1536 / bl.esize;
    bl.sub = bl.esize == 4 && f64_flush > 0 ? f64_flush : 0;
    bl.mc = 240;
    bl.nc = 384;
    return bl;
}

void mt_llvm_gemm_desc_init(mt_llvm_gemm_desc *d, mt_dtype dtype, int64_t M, int64_t N, int64_t K)
{
    memset(d, 0, sizeof *d);
    d->dtype = dtype;
    d->M = M;
    d->N = N;
    d->K = K;
    d->lda = K;
    d->ldb = N;
    d->ldc = N;
}

mt_status mt_llvm_gemm_desc_matmul(mt_llvm_gemm_desc *d, const mt_type *a, const mt_type *b,
                                   bool trans_a, bool trans_b, mt_diag *diag)
{
    if (a->rank < 2 || b->rank < 2)
        return mt_diag_set(diag, MT_ERR_SHAPE, "gemm: matmul operands need rank >= 2");
    if (a->dtype != b->dtype)
        return mt_diag_set(diag, MT_ERR_TYPE, "gemm: matmul operands of different dtypes");
    int64_t M = a->dims[a->rank - 2], K = a->dims[a->rank - 1];
    int64_t N = b->dims[b->rank - 1];
    mt_type ba = *a, bb = *b, bo;
    ba.rank -= 2;
    bb.rank -= 2;
    if (b->dims[b->rank - 2] != K || !mt_broadcast_shapes(&ba, &bb, &bo))
        return mt_diag_set(diag, MT_ERR_SHAPE, "gemm: matmul operands do not fit");
    mt_llvm_gemm_desc_init(d, a->dtype, M, N, K);
    d->trans_a = trans_a;
    d->trans_b = trans_b;
    d->lda = trans_a ? M : K;
    d->ldb = trans_b ? K : N;
    d->nbatch = bo.rank;
    int64_t sa[MT_MAX_RANK], sb[MT_MAX_RANK], so[MT_MAX_RANK];
    mt_broadcast_strides(&ba, &bo, sa);
    mt_broadcast_strides(&bb, &bo, sb);
    mt_type_strides(&bo, so);
    for (int i = 0; i < bo.rank; i++) {
        d->batch_dims[i] = bo.dims[i];
        d->batch_a[i] = sa[i] * M * K;
        d->batch_b[i] = sb[i] * K * N;
        d->batch_c[i] = so[i] * M * N;
    }
    return MT_OK;
}

int64_t mt_llvm_gemm_row_block(const mt_llvm_gemm_desc *d)
{
    return blocking_for(d->dtype, d->isa, d->f64_flush).mr;
}

/* The product the driver sees: trailing batch axes along which B is broadcast and A and C
 * rows are stacked contiguously (x[..., M, K] . w[K, N]) fold into M, so B is packed once for
 * all of them; the remaining outer axes stay a loop. Row numbering is unchanged: row r of the
 * folded product is still row r of the batched one. */
static void fold_batches(const mt_llvm_gemm_desc *d, mt_llvm_gemm_desc *core)
{
    *core = *d;
    while (core->nbatch > 0 && !core->trans_a) {
        int i = core->nbatch - 1;
        if (core->batch_b[i] != 0 || core->batch_a[i] != core->M * core->lda ||
            core->batch_c[i] != core->M * core->ldc)
            break;
        core->M *= core->batch_dims[i];
        core->nbatch--;
    }
}

/* Scratch layout in elements from the 64-byte aligned start: Ap (mcb x kcb), then Bp (kcb x
 * ncb), then the edge tile (f64 when widening, else at most 8 bytes an element), each on a
 * 64-byte boundary so packed vectors load aligned; plus the slack to align the start. The
 * blocks are clipped to the product: mcb = min(MC, M rounded up to MR), and so on. The driver
 * computes the same numbers at run time. */
size_t mt_llvm_gemm_scratch_bytes(const mt_llvm_gemm_desc *d)
{
    mt_llvm_gemm_desc core;
    fold_batches(d, &core);
    mt_gemm_blocking bl = blocking_for(d->dtype, d->isa, d->f64_flush);
    int64_t line = 64 / bl.esize;
    int64_t mcb = min64(bl.mc, round_up(core.M, bl.mr)), kcb = min64(bl.kc, core.K);
    int64_t ncb = min64(bl.nc, round_up(core.N, bl.nr));
    int64_t tile = round_up(mcb * kcb, line) + round_up(kcb * ncb, line);
    return (size_t)(tile * bl.esize + bl.mr * bl.nr * 8 + 64);
}

/* ---- the descriptor ------------------------------------------------------------------- */

/* Word offsets of the run-time descriptor. */
enum {
    W_M,
    W_N,
    W_K,
    W_LDA,
    W_LDB,
    W_LDC,
    W_ACC,
    W_NBATCH,
    W_FLAGS, /* bit 0: A transposed, bit 1: B transposed (for the few-rows path) */
    W_DIMS,
    W_SA = W_DIMS + MT_MAX_RANK,
    W_SB = W_SA + MT_MAX_RANK,
    W_SC = W_SB + MT_MAX_RANK,
};
_Static_assert(W_SC + MT_MAX_RANK == MT_LLVM_GEMM_DESC_WORDS, "descriptor layout");

void mt_llvm_gemm_desc_words(const mt_llvm_gemm_desc *d, int64_t w[MT_LLVM_GEMM_DESC_WORDS])
{
    mt_llvm_gemm_desc core;
    fold_batches(d, &core);
    memset(w, 0, MT_LLVM_GEMM_DESC_WORDS * sizeof *w);
    w[W_M] = core.M;
    w[W_N] = core.N;
    w[W_K] = core.K;
    w[W_LDA] = core.lda;
    w[W_LDB] = core.ldb;
    w[W_LDC] = core.ldc;
    w[W_ACC] = core.accumulate;
    w[W_NBATCH] = core.nbatch;
    w[W_FLAGS] = (core.trans_a ? 1 : 0) | (core.trans_b ? 2 : 0);
    for (int i = 0; i < core.nbatch; i++) {
        w[W_DIMS + i] = core.batch_dims[i];
        w[W_SA + i] = core.batch_a[i];
        w[W_SB + i] = core.batch_b[i];
        w[W_SC + i] = core.batch_c[i];
    }
}

static mt_status check_desc(const mt_llvm_gemm_desc *d, mt_diag *diag)
{
    if (d->dtype != MT_DTYPE_F32 && d->dtype != MT_DTYPE_F64)
        return mt_diag_set(diag, MT_ERR_ARG, "gemm: unknown dtype %d", (int)d->dtype);
    if (d->M < 0 || d->N < 0 || d->K < 0)
        return mt_diag_set(diag, MT_ERR_ARG, "gemm: negative size M=%lld N=%lld K=%lld",
                           (long long)d->M, (long long)d->N, (long long)d->K);
    int64_t min_lda = d->trans_a ? d->M : d->K, min_ldb = d->trans_b ? d->K : d->N;
    if (d->lda < min_lda || d->ldb < min_ldb || d->ldc < d->N)
        return mt_diag_set(diag, MT_ERR_ARG,
                           "gemm: row strides lda=%lld ldb=%lld ldc=%lld too small for "
                           "M=%lld N=%lld K=%lld",
                           (long long)d->lda, (long long)d->ldb, (long long)d->ldc, (long long)d->M,
                           (long long)d->N, (long long)d->K);
    if (d->f64_flush < 0)
        return mt_diag_set(diag, MT_ERR_ARG, "gemm: negative f64_flush %lld",
                           (long long)d->f64_flush);
    if (d->nbatch < 0 || d->nbatch > MT_MAX_RANK - 2)
        return mt_diag_set(diag, MT_ERR_ARG, "gemm: %d batch axes (at most %d)", d->nbatch,
                           MT_MAX_RANK - 2);
    for (int i = 0; i < d->nbatch; i++) {
        if (d->batch_dims[i] < 0 || d->batch_a[i] < 0 || d->batch_b[i] < 0 || d->batch_c[i] < 0)
            return mt_diag_set(diag, MT_ERR_ARG, "gemm: negative batch size or stride on axis %d",
                               i);
    }
    if (d->isa < MT_LLVM_GEMM_ISA_HOST || d->isa > MT_LLVM_GEMM_ISA_AVX512)
        return mt_diag_set(diag, MT_ERR_ARG, "gemm: unknown isa %d", (int)d->isa);
    return MT_OK;
}

/* ---- the driver ------------------------------------------------------------------------- */

/* The packing pieces' type: void pack(T *src, i64 ld, T *dst, i64 first, i64 count, i64 pc,
 * i64 kc). */
static LLVMTypeRef pack_type(const mt_gemm_gen *g)
{
    LLVMTypeRef p[7] = {g->tp, g->i64, g->tp, g->i64, g->i64, g->i64, g->i64};
    return LLVMFunctionType(LLVMVoidTypeInContext(g->ctx), p, 7, 0);
}

/* Word `i` of the descriptor `desc`. */
static LLVMValueRef word(mt_gemm_gen *g, LLVMValueRef desc, LLVMValueRef i, const char *name)
{
    LLVMValueRef p = LLVMBuildGEP2(g->b, g->i64, desc, &i, 1, "");
    LLVMValueRef v = LLVMBuildLoad2(g->b, g->i64, p, name);
    LLVMSetAlignment(v, 8);
    return v;
}

/* C[row0+i, col0+j] (+)= tile[i*NR + j] for the valid mr x nr part of an edge tile, with
 * the same operations per element as the kernel's SET and ADD: a full tile and an edge tile
 * give the same bits. */
static void emit_edge_store(mt_gemm_gen *g, LLVMValueRef crow, LLVMValueRef ldc, LLVMValueRef tile,
                            LLVMValueRef mr, LLVMValueRef nr, LLVMValueRef first)
{
    mt_gemm_loop li, lj;
    LLVMValueRef i = loop_open(g, &li, c64(g, 0), mr, 1, "edge_i");
    LLVMValueRef cr = gep(g, crow, mul(g, i, ldc));
    LLVMValueRef off =
        add(g, mul(g, i, c64(g, g->bl.nr)), loop_open(g, &lj, c64(g, 0), nr, 1, "edge_j"));
    LLVMValueRef j = lj.iv;
    LLVMValueRef tp = LLVMBuildGEP2(g->b, g->wt, tile, &off, 1, "");
    LLVMValueRef t = LLVMBuildLoad2(g->b, g->wt, tp, "");
    LLVMSetAlignment(t, g->bl.sub ? 8 : (unsigned)g->bl.esize);
    LLVMValueRef p = gep(g, cr, j);
    /* Both results and a select rather than a branch per element: less code to compile. The
     * element of C is valid memory, and its old value is only used when adding. */
    LLVMValueRef old = load_elem(g, p), set, sum;
    if (g->bl.sub) {
        set = LLVMBuildFPTrunc(g->b, t, g->t, "");
        sum = LLVMBuildFPTrunc(
            g->b, LLVMBuildFAdd(g->b, LLVMBuildFPExt(g->b, old, g->wt, ""), t, ""), g->t, "");
    } else {
        set = t;
        sum = LLVMBuildFAdd(g->b, old, t, "");
    }
    store_elem(g, LLVMBuildSelect(g->b, first, set, sum, ""), p);
    loop_close(g, &lj);
    loop_close(g, &li);
}

/* The product's sizes and strides, loaded once from the descriptor. */
typedef struct dims {
    LLVMValueRef M, N, K, lda, ldb, ldc, acc;
} dims;

/* Rows [mb, me) of one product (A, B, C already offset to its batch), the blocked loops of the
 * header comment. ap, bp and tile point into the scratch. */
static void emit_product(mt_gemm_gen *g, const dims *sz, LLVMValueRef A, LLVMValueRef B,
                         LLVMValueRef C, LLVMValueRef mb, LLVMValueRef me, LLVMValueRef ap,
                         LLVMValueRef bp, LLVMValueRef tile, const LLVMValueRef fns[3])
{
    const mt_gemm_blocking *bl = &g->bl;
    LLVMValueRef kernel = fns[0], pack_a = fns[1], pack_b = fns[2];
    LLVMTypeRef pack_ty = pack_type(g);
    mt_gemm_loop lic, lpc, ljc, lir, ljr;
    LLVMValueRef ic = loop_open(g, &lic, mb, me, bl->mc, "ic");
    LLVMValueRef mc = min_v(g, c64(g, bl->mc), sub(g, me, ic));
    LLVMValueRef pc = loop_open(g, &lpc, c64(g, 0), sz->K, bl->kc, "pc");
    LLVMValueRef kc = min_v(g, c64(g, bl->kc), sub(g, sz->K, pc));
    /* The first K block sets C, later ones add to it (all of them add when accumulating). */
    LLVMValueRef first = LLVMBuildAnd(g->b, LLVMBuildICmp(g->b, LLVMIntEQ, sz->acc, c64(g, 0), ""),
                                      LLVMBuildICmp(g->b, LLVMIntEQ, pc, c64(g, 0), ""), "first");
    LLVMValueRef pa_args[7] = {A, sz->lda, ap, ic, mc, pc, kc};
    LLVMBuildCall2(g->b, pack_ty, pack_a, pa_args, 7, "");
    LLVMValueRef jc = loop_open(g, &ljc, c64(g, 0), sz->N, bl->nc, "jc");
    LLVMValueRef nc = min_v(g, c64(g, bl->nc), sub(g, sz->N, jc));
    LLVMValueRef pb_args[7] = {B, sz->ldb, bp, jc, nc, pc, kc};
    LLVMBuildCall2(g->b, pack_ty, pack_b, pb_args, 7, "");
    LLVMValueRef ir = loop_open(g, &lir, c64(g, 0), mc, bl->mr, "ir");
    LLVMValueRef mr = min_v(g, c64(g, bl->mr), sub(g, mc, ir));
    LLVMValueRef apanel = gep(g, ap, mul(g, ir, kc));
    LLVMValueRef crow0 = gep(g, C, mul(g, add(g, ic, ir), sz->ldc));
    LLVMValueRef jr = loop_open(g, &ljr, c64(g, 0), nc, bl->nr, "jr");
    LLVMValueRef nr = min_v(g, c64(g, bl->nr), sub(g, nc, jr));
    LLVMValueRef bpanel = gep(g, bp, mul(g, jr, kc));
    LLVMValueRef crow = gep(g, crow0, add(g, jc, jr));
    LLVMValueRef full =
        LLVMBuildAnd(g->b, LLVMBuildICmp(g->b, LLVMIntEQ, mr, c64(g, bl->mr), ""),
                     LLVMBuildICmp(g->b, LLVMIntEQ, nr, c64(g, bl->nr), ""), "full");
    LLVMBasicBlockRef bfull = block(g, "tile_full"), bedge = block(g, "tile_edge");
    LLVMBasicBlockRef next = block(g, "tile_next");
    LLVMTypeRef kty = LLVMGlobalGetValueType(kernel);
    LLVMBuildCondBr(g->b, full, bfull, bedge);

    LLVMPositionBuilderAtEnd(g->b, bfull);
    LLVMValueRef mode = LLVMBuildSelect(g->b, first, LLVMConstInt(g->i32, MT_GEMM_SET, 0),
                                        LLVMConstInt(g->i32, MT_GEMM_ADD, 0), "mode");
    LLVMValueRef args[7] = {kc, apanel, bpanel, crow, sz->ldc, mode, tile};
    LLVMBuildCall2(g->b, kty, kernel, args, 7, "");
    LLVMBuildBr(g->b, next);

    LLVMPositionBuilderAtEnd(g->b, bedge);
    LLVMValueRef eargs[7] = {
        kc, apanel, bpanel, crow, sz->ldc, LLVMConstInt(g->i32, MT_GEMM_RAW, 0), tile};
    LLVMBuildCall2(g->b, kty, kernel, eargs, 7, "");
    emit_edge_store(g, crow, sz->ldc, tile, mr, nr, first);
    LLVMBuildBr(g->b, next);

    LLVMPositionBuilderAtEnd(g->b, next);
    loop_close(g, &ljr);
    loop_close(g, &lir);
    loop_close(g, &ljc);
    loop_close(g, &lpc);
    loop_close(g, &lic);
}

/* C rows [mb, me) = 0: the product of an empty sum (K = 0) when not accumulating. */
static void emit_zero_rows(mt_gemm_gen *g, const dims *sz, LLVMValueRef C, LLVMValueRef mb,
                           LLVMValueRef me)
{
    mt_gemm_loop li, lj;
    LLVMValueRef i = loop_open(g, &li, mb, me, 1, "zero_i");
    LLVMValueRef crow = gep(g, C, mul(g, i, sz->ldc));
    LLVMValueRef j = loop_open(g, &lj, c64(g, 0), sz->N, 1, "zero_j");
    store_elem(g, LLVMConstNull(g->t), gep(g, crow, j));
    loop_close(g, &lj);
    loop_close(g, &li);
}

/* The driver piece: void driver(T *A, T *B, T *C, i64 row_begin, i64 row_end, i8 *scratch,
 * i64 *desc, pack_a, pack_b). Rows are numbered across the descriptor's batch axes,
 * batch-major; each maximal run of rows inside one batch is one product over that batch's
 * operands. The scratch (given, or a dynamic alloca sized for this product) is set up once
 * per call. The packing functions come as arguments, so that one driver serves every
 * combination of transposes: it calls them once per block, which costs nothing measurable,
 * and a program compiles one driver rather than one per combination. */
static void emit_driver(mt_gemm_gen *g, LLVMValueRef fn, LLVMValueRef kernel)
{
    const mt_gemm_blocking *bl = &g->bl;
    open_fn(g, fn);
    LLVMValueRef fns[3] = {kernel, LLVMGetParam(fn, 7), LLVMGetParam(fn, 8)};
    LLVMValueRef desc = LLVMGetParam(fn, 6);
    dims sz = {word(g, desc, c64(g, W_M), "M"),     word(g, desc, c64(g, W_N), "N"),
               word(g, desc, c64(g, W_K), "K"),     word(g, desc, c64(g, W_LDA), "lda"),
               word(g, desc, c64(g, W_LDB), "ldb"), word(g, desc, c64(g, W_LDC), "ldc"),
               word(g, desc, c64(g, W_ACC), "acc")};
    LLVMValueRef nbatch = word(g, desc, c64(g, W_NBATCH), "nbatch");
    LLVMValueRef flags = word(g, desc, c64(g, W_FLAGS), "flags");

    /* rows = M * prod(batch dims); clamp the range to it. */
    mt_gemm_loop lb;
    LLVMValueRef nouter = var(g, g->i64, "nouter");
    LLVMBuildStore(g->b, c64(g, 1), nouter);
    LLVMValueRef bi = loop_open(g, &lb, c64(g, 0), nbatch, 1, "batches");
    LLVMValueRef prod = LLVMBuildLoad2(g->b, g->i64, nouter, "");
    LLVMBuildStore(g->b, mul(g, prod, word(g, desc, add(g, bi, c64(g, W_DIMS)), "")), nouter);
    loop_close(g, &lb);
    LLVMValueRef rows = mul(g, sz.M, LLVMBuildLoad2(g->b, g->i64, nouter, ""));
    LLVMValueRef rb = max_v(g, LLVMGetParam(fn, 3), c64(g, 0));
    LLVMValueRef re = min_v(g, LLVMGetParam(fn, 4), rows);
    LLVMBasicBlockRef work = block(g, "work"), done = block(g, "done");
    LLVMBuildCondBr(g->b, LLVMBuildICmp(g->b, LLVMIntSLT, rb, re, ""), work, done);
    LLVMPositionBuilderAtEnd(g->b, work);

    /* The scratch: mt_llvm_gemm_scratch_bytes of it, aligned to 64 bytes. Without a scratch
     * pointer the panels go on the stack (a dynamic alloca, so a caller that passes scratch
     * needs no stack for them). */
    int64_t line = 64 / bl->esize;
    LLVMValueRef mr_rows =
        mul(g, LLVMBuildSDiv(g->b, add(g, sz.M, c64(g, bl->mr - 1)), c64(g, bl->mr), ""),
            c64(g, bl->mr));
    LLVMValueRef mcb = min_v(g, c64(g, bl->mc), mr_rows);
    LLVMValueRef kcb = min_v(g, c64(g, bl->kc), sz.K);
    LLVMValueRef nr_cols =
        mul(g, LLVMBuildSDiv(g->b, add(g, sz.N, c64(g, bl->nr - 1)), c64(g, bl->nr), ""),
            c64(g, bl->nr));
    LLVMValueRef ncb = min_v(g, c64(g, bl->nc), nr_cols);
    LLVMValueRef bp_off =
        LLVMBuildAnd(g->b, add(g, mul(g, mcb, kcb), c64(g, line - 1)), c64(g, -line), "bp_off");
    LLVMValueRef tile_off =
        add(g, bp_off,
            LLVMBuildAnd(g->b, add(g, mul(g, kcb, ncb), c64(g, line - 1)), c64(g, -line), ""));
    LLVMValueRef bytes =
        add(g, mul(g, tile_off, c64(g, bl->esize)), c64(g, bl->mr * bl->nr * 8 + 64));
    LLVMTypeRef i8 = LLVMInt8TypeInContext(g->ctx), i8p = LLVMPointerType(i8, 0);
    LLVMValueRef slot = var(g, i8p, "scratch");
    LLVMValueRef given = LLVMGetParam(fn, 5);
    LLVMBuildStore(g->b, given, slot);
    LLVMBasicBlockRef on_stack = block(g, "on_stack"), have = block(g, "have_scratch");
    LLVMBuildCondBr(g->b, LLVMBuildIsNull(g->b, given, ""), on_stack, have);
    LLVMPositionBuilderAtEnd(g->b, on_stack);
    LLVMValueRef mem = LLVMBuildArrayAlloca(g->b, i8, bytes, "stack_scratch");
    LLVMSetAlignment(mem, 64);
    LLVMBuildStore(g->b, mem, slot);
    LLVMBuildBr(g->b, have);
    LLVMPositionBuilderAtEnd(g->b, have);
    LLVMValueRef s = LLVMBuildPtrToInt(g->b, LLVMBuildLoad2(g->b, i8p, slot, ""), g->i64, "");
    s = LLVMBuildAnd(g->b, add(g, s, c64(g, 63)), c64(g, ~(int64_t)63), "");
    LLVMValueRef ap = LLVMBuildIntToPtr(g->b, s, g->tp, "ap");
    LLVMValueRef bp = gep(g, ap, bp_off);
    LLVMValueRef tile =
        LLVMBuildBitCast(g->b, gep(g, ap, tile_off), LLVMPointerType(g->wt, 0), "tile");
    LLVMValueRef empty = LLVMBuildICmp(g->b, LLVMIntEQ, sz.K, c64(g, 0), "empty");

    /* Runs of rows inside one batch. */
    LLVMValueRef rslot = var(g, g->i64, "row");
    LLVMBuildStore(g->b, rb, rslot);
    LLVMBasicBlockRef cond = block(g, "row_cond"), body = block(g, "row_body");
    LLVMBuildBr(g->b, cond);
    LLVMPositionBuilderAtEnd(g->b, cond);
    LLVMValueRef r = LLVMBuildLoad2(g->b, g->i64, rslot, "row");
    LLVMBuildCondBr(g->b, LLVMBuildICmp(g->b, LLVMIntSLT, r, re, ""), body, done);
    LLVMPositionBuilderAtEnd(g->b, body);
    LLVMValueRef batch = LLVMBuildSDiv(g->b, r, sz.M, "batch");
    LLVMValueRef m0 = sub(g, r, mul(g, batch, sz.M));
    LLVMValueRef m1 = min_v(g, sz.M, add(g, m0, sub(g, re, r)));
    /* Offsets of the batch's operands: its index on each axis, innermost axis last. */
    LLVMValueRef offs[3], rest = var(g, g->i64, "rest");
    for (int o = 0; o < 3; o++) {
        offs[o] = var(g, g->i64, "off");
        LLVMBuildStore(g->b, c64(g, 0), offs[o]);
    }
    LLVMBuildStore(g->b, batch, rest);
    mt_gemm_loop la;
    LLVMValueRef ax = loop_open(g, &la, c64(g, 0), nbatch, 1, "axes");
    LLVMValueRef axis = sub(g, sub(g, nbatch, c64(g, 1)), ax);
    LLVMValueRef dim = word(g, desc, add(g, axis, c64(g, W_DIMS)), "");
    LLVMValueRef left = LLVMBuildLoad2(g->b, g->i64, rest, "");
    LLVMValueRef idx = LLVMBuildSRem(g->b, left, dim, "");
    LLVMBuildStore(g->b, LLVMBuildSDiv(g->b, left, dim, ""), rest);
    static const int stride_at[3] = {W_SA, W_SB, W_SC};
    for (int o = 0; o < 3; o++) {
        LLVMValueRef st = word(g, desc, add(g, axis, c64(g, stride_at[o])), "");
        LLVMValueRef cur = LLVMBuildLoad2(g->b, g->i64, offs[o], "");
        LLVMBuildStore(g->b, add(g, cur, mul(g, idx, st)), offs[o]);
    }
    loop_close(g, &la);
    LLVMValueRef Ab = gep(g, LLVMGetParam(fn, 0), LLVMBuildLoad2(g->b, g->i64, offs[0], ""));
    LLVMValueRef Bb = gep(g, LLVMGetParam(fn, 1), LLVMBuildLoad2(g->b, g->i64, offs[1], ""));
    LLVMValueRef Cb = gep(g, LLVMGetParam(fn, 2), LLVMBuildLoad2(g->b, g->i64, offs[2], ""));

    LLVMBasicBlockRef prod_b = block(g, "product"), zero_b = block(g, "empty_sum");
    LLVMBasicBlockRef next = block(g, "row_next");
    LLVMBuildCondBr(g->b, empty, zero_b, prod_b);
    LLVMPositionBuilderAtEnd(g->b, zero_b);
    /* An empty sum: C = 0, or C unchanged when accumulating. */
    LLVMBasicBlockRef zero_go = block(g, "zero");
    LLVMBuildCondBr(g->b, LLVMBuildICmp(g->b, LLVMIntEQ, sz.acc, c64(g, 0), ""), zero_go, next);
    LLVMPositionBuilderAtEnd(g->b, zero_go);
    emit_zero_rows(g, &sz, Cb, m0, m1);
    LLVMBuildBr(g->b, next);
    LLVMPositionBuilderAtEnd(g->b, prod_b);
    if (!bl->sub) {
        /* Few rows: B read in place, or packed once when transposed (gemm_small.c); same bits. */
        LLVMValueRef nrows = sub(g, m1, m0);
        /* Whole tiles read B once each; leftover rows go one at a time and read it each. */
        LLVMValueRef whole_tiles = LLVMBuildICmp(
            g->b, LLVMIntEQ, LLVMBuildSRem(g->b, nrows, c64(g, bl->mr), ""), c64(g, 0), "");
        LLVMValueRef few_ok = LLVMBuildOr(
            g->b, LLVMBuildICmp(g->b, LLVMIntSLE, sz.K, c64(g, SMALL_K), ""), whole_tiles, "");
        LLVMValueRef tiny_b = LLVMBuildICmp(
            g->b, LLVMIntSLE, mul(g, mul(g, sz.K, sz.N), c64(g, bl->esize)), c64(g, SMALL_B), "");
        LLVMValueRef few_rows = LLVMBuildOr(
            g->b, LLVMBuildICmp(g->b, LLVMIntSLE, nrows, c64(g, ONE_ROWS), ""),
            LLVMBuildOr(g->b,
                        LLVMBuildAnd(g->b, few_ok,
                                     LLVMBuildICmp(g->b, LLVMIntSLE, nrows, c64(g, SMALL_ROWS), ""),
                                     ""),
                        tiny_b, ""),
            "");
        /* A transposed B is packed first, all of it: one K block and one N block. */
        LLVMValueRef trans_b = LLVMBuildICmp(
            g->b, LLVMIntNE, LLVMBuildAnd(g->b, flags, c64(g, 2), ""), c64(g, 0), "trans_b");
        LLVMValueRef one_block =
            LLVMBuildAnd(g->b, LLVMBuildICmp(g->b, LLVMIntSLE, sz.K, c64(g, bl->kc), ""),
                         LLVMBuildICmp(g->b, LLVMIntSLE, sz.N, c64(g, bl->nc), ""), "");
        LLVMValueRef few =
            LLVMBuildAnd(g->b, few_rows,
                         LLVMBuildOr(g->b, LLVMBuildNot(g->b, trans_b, ""), one_block, ""), "few");
        LLVMBasicBlockRef small_b = block(g, "few_rows"), packed_b = block(g, "packed");
        LLVMBasicBlockRef pack_b = block(g, "few_pack_b"), read_b = block(g, "few_read");
        LLVMBuildCondBr(g->b, few, small_b, packed_b);
        LLVMPositionBuilderAtEnd(g->b, small_b);
        LLVMBuildCondBr(g->b, trans_b, pack_b, read_b);
        LLVMPositionBuilderAtEnd(g->b, pack_b);
        LLVMValueRef pb_args[7] = {Bb, sz.ldb, bp, c64(g, 0), sz.N, c64(g, 0), sz.K};
        LLVMBuildCall2(g->b, pack_type(g), fns[2], pb_args, 7, "");
        LLVMBuildBr(g->b, read_b);
        LLVMPositionBuilderAtEnd(g->b, read_b);
        mt_gemm_small sm = {Ab,
                            LLVMBuildSelect(g->b, trans_b, bp, Bb, "few_b"),
                            Cb,
                            m0,
                            m1,
                            sz.N,
                            sz.K,
                            sz.lda,
                            LLVMBuildSelect(g->b, trans_b, c64(g, bl->nr), sz.ldb, ""),
                            sz.ldc,
                            sz.acc,
                            LLVMBuildICmp(g->b, LLVMIntNE, LLVMBuildAnd(g->b, flags, c64(g, 1), ""),
                                          c64(g, 0), "trans_a"),
                            LLVMBuildSelect(g->b, trans_b, mul(g, sz.K, c64(g, bl->nr)),
                                            c64(g, bl->nr), "pstride")};
        mt_gemm_emit_small_rows(g, &sm);
        LLVMBuildBr(g->b, next);
        LLVMPositionBuilderAtEnd(g->b, packed_b);
    }
    emit_product(g, &sz, Ab, Bb, Cb, m0, m1, ap, bp, tile, fns);
    LLVMBuildBr(g->b, next);
    LLVMPositionBuilderAtEnd(g->b, next);
    LLVMBuildStore(g->b, add(g, r, sub(g, m1, m0)), rslot);
    LLVMBuildBr(g->b, cond);

    LLVMPositionBuilderAtEnd(g->b, done);
    LLVMBuildRetVoid(g->b);
    close_fn(g);
}

/* ---- pieces -------------------------------------------------------------------------------- */

static const char *isa_name(mt_llvm_gemm_isa isa)
{
    return isa == MT_LLVM_GEMM_ISA_AVX512 ? "avx512"
           : isa == MT_LLVM_GEMM_ISA_AVX2 ? "avx2"
                                          : "sse";
}

void mt_llvm_gemm_piece_name(const mt_llvm_gemm_piece *p, char name[MT_LLVM_GEMM_NAME])
{
    char flush[32] = "";
    if (p->f64_flush > 0 && (p->part == MT_LLVM_GEMM_KERNEL || p->part == MT_LLVM_GEMM_DRIVER))
        snprintf(flush, sizeof flush, ".flush%lld", (long long)p->f64_flush);
    const char *dt = p->dtype == MT_DTYPE_F64 ? "f64" : "f32";
    const char *isa = isa_name(p->isa);
    switch (p->part) {
    case MT_LLVM_GEMM_KERNEL:
        snprintf(name, MT_LLVM_GEMM_NAME, "mtc.gemm.%s.%s%s.kernel", dt, isa, flush);
        break;
    case MT_LLVM_GEMM_PACK_A:
        snprintf(name, MT_LLVM_GEMM_NAME, "mtc.gemm.%s.%s.pack_a_%c", dt, isa,
                 p->trans_a ? 't' : 'n');
        break;
    case MT_LLVM_GEMM_PACK_B:
        snprintf(name, MT_LLVM_GEMM_NAME, "mtc.gemm.%s.%s.pack_b_%c", dt, isa,
                 p->trans_b ? 't' : 'n');
        break;
    case MT_LLVM_GEMM_DRIVER:
        snprintf(name, MT_LLVM_GEMM_NAME, "mtc.gemm.%s.%s%s.driver", dt, isa, flush);
        break;
    }
}

mt_status mt_llvm_gemm_pieces(const mt_llvm_gemm_desc *d,
                              mt_llvm_gemm_piece out[MT_LLVM_GEMM_PIECES], mt_diag *diag)
{
    mt_status st = check_desc(d, diag);
    if (st != MT_OK)
        return st;
    static const mt_llvm_gemm_part parts[MT_LLVM_GEMM_PIECES] = {
        MT_LLVM_GEMM_DRIVER, MT_LLVM_GEMM_KERNEL, MT_LLVM_GEMM_PACK_A, MT_LLVM_GEMM_PACK_B};
    for (int i = 0; i < MT_LLVM_GEMM_PIECES; i++) {
        mt_llvm_gemm_part part = parts[i];
        int packs = part == MT_LLVM_GEMM_PACK_A || part == MT_LLVM_GEMM_PACK_B;
        out[i] = (mt_llvm_gemm_piece){
            .dtype = d->dtype,
            .isa = resolve_isa(d->isa),
            /* Packing does not depend on it; f64 has no flush. */
            .f64_flush = d->dtype == MT_DTYPE_F32 && !packs ? d->f64_flush : 0,
            .part = part,
            .trans_a = part == MT_LLVM_GEMM_PACK_A && d->trans_a,
            .trans_b = part == MT_LLVM_GEMM_PACK_B && d->trans_b,
        };
    }
    return MT_OK;
}

static void gen_init(mt_gemm_gen *g, LLVMModuleRef mod, const mt_llvm_gemm_piece *p)
{
    memset(g, 0, sizeof *g);
    g->ctx = LLVMGetModuleContext(mod);
    g->mod = mod;
    g->piece = *p;
    g->bl = blocking_for(p->dtype, p->isa, p->f64_flush);
    g->i1 = LLVMInt1TypeInContext(g->ctx);
    g->i32 = LLVMInt32TypeInContext(g->ctx);
    g->i64 = LLVMInt64TypeInContext(g->ctx);
    g->t =
        p->dtype == MT_DTYPE_F64 ? LLVMDoubleTypeInContext(g->ctx) : LLVMFloatTypeInContext(g->ctx);
    g->vt = LLVMVectorType(g->t, (unsigned)g->bl.vl);
    g->tp = LLVMPointerType(g->t, 0);
    g->vtp = LLVMPointerType(g->vt, 0);
    g->wt = g->bl.sub ? LLVMDoubleTypeInContext(g->ctx) : g->t;
    g->wvt = LLVMVectorType(LLVMDoubleTypeInContext(g->ctx), (unsigned)(g->bl.vl / 2));
}

/* The piece's function type. */
static LLVMTypeRef piece_type(const mt_gemm_gen *g)
{
    LLVMTypeRef i8p = LLVMPointerType(LLVMInt8TypeInContext(g->ctx), 0);
    LLVMTypeRef v = LLVMVoidTypeInContext(g->ctx);
    switch (g->piece.part) {
    case MT_LLVM_GEMM_KERNEL: {
        LLVMTypeRef p[7] = {g->i64, g->tp, g->tp, g->tp, g->i64, g->i32, LLVMPointerType(g->wt, 0)};
        return LLVMFunctionType(v, p, 7, 0);
    }
    case MT_LLVM_GEMM_PACK_A:
    case MT_LLVM_GEMM_PACK_B: return pack_type(g);
    case MT_LLVM_GEMM_DRIVER: break;
    }
    LLVMTypeRef pack_p = LLVMPointerType(pack_type(g), 0);
    LLVMTypeRef p[9] = {g->tp,  g->tp, g->tp, g->i64, g->i64, i8p, LLVMPointerType(g->i64, 0),
                        pack_p, pack_p};
    return LLVMFunctionType(v, p, 9, 0);
}

LLVMValueRef mt_llvm_gemm_piece_function(LLVMModuleRef mod, const mt_llvm_gemm_piece *p,
                                         bool define)
{
    char name[MT_LLVM_GEMM_NAME];
    mt_llvm_gemm_piece_name(p, name);
    LLVMValueRef fn = LLVMGetNamedFunction(mod, name);
    if (fn && (!define || LLVMCountBasicBlocks(fn) > 0))
        return fn;
    mt_gemm_gen g;
    gen_init(&g, mod, p);
    if (!fn) {
        fn = LLVMAddFunction(mod, name, piece_type(&g));
        add_fn_attr(&g, fn, "nounwind");
        /* Called once per block or panel, never worth inlining; and it keeps each piece a
         * function of its own, which the kernel cache stores apart (compile.c). */
        add_fn_attr(&g, fn, "noinline");
        add_string_attr(&g, fn, "mtc-gemm", "1");
        if (p->part == MT_LLVM_GEMM_DRIVER && g.bl.isa == MT_LLVM_GEMM_ISA_AVX512) {
            /* Its few-rows path: 512-bit vectors whole, as in the micro-kernel. */
            add_string_attr(&g, fn, "prefer-vector-width", "512");
            add_string_attr(&g, fn, "min-legal-vector-width", "512");
        }
        if (p->part == MT_LLVM_GEMM_DRIVER)
            for (unsigned i = 0; i < 6; i++)
                if (i != 3 && i != 4)
                    add_param_attr(&g, fn, i, "noalias");
    }
    if (!define)
        return fn;
    if (g.bl.fma) {
        unsigned id = LLVMLookupIntrinsicID("llvm.fma", 8);
        g.fma = LLVMGetIntrinsicDeclaration(mod, id, &g.vt, 1);
        g.fma_ty = LLVMIntrinsicGetType(g.ctx, id, &g.vt, 1);
    }
    g.b = LLVMCreateBuilderInContext(g.ctx);
    g.ab = LLVMCreateBuilderInContext(g.ctx);
    switch (p->part) {
    case MT_LLVM_GEMM_KERNEL: mt_gemm_emit_microkernel(&g, fn); break;
    case MT_LLVM_GEMM_PACK_A: mt_gemm_emit_pack_a(&g, fn); break;
    case MT_LLVM_GEMM_PACK_B: mt_gemm_emit_pack_b(&g, fn); break;
    case MT_LLVM_GEMM_DRIVER: {
        mt_llvm_gemm_piece kernel = *p;
        kernel.part = MT_LLVM_GEMM_KERNEL;
        emit_driver(&g, fn, mt_llvm_gemm_piece_function(mod, &kernel, false));
        break;
    }
    }
    LLVMDisposeBuilder(g.b);
    LLVMDisposeBuilder(g.ab);
    return fn;
}
