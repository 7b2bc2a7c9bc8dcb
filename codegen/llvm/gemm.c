/* gemm.c - a packed, register-blocked GEMM emitted as LLVM IR for one static shape.
 *
 * Part of the LLVM CPU backend: the renderer (emit.c) calls mt_llvm_gemm_emit for each GEMM
 * statement of a matmul kernel, and the executor splits M across its thread pool. No BLAS is
 * called. This file has the blocking, the loops around the micro-kernel and the entry point;
 * gemm_kernel.c emits the micro-kernel and the packing. docs/gemm.md has the design and the
 * measurements.
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
 * Edges: packing pads partial panels with zeros, so the micro-kernel always computes a full
 * tile; a partial tile goes to a scratch tile and only its valid part is added to C. A
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
#include "ir/type.h"

/* ---- blocking -------------------------------------------------------------------------- */

static int64_t round_up(int64_t x, int64_t m) { return (x + m - 1) / m * m; }
static int64_t min64(int64_t a, int64_t b) { return a < b ? a : b; }

mt_llvm_gemm_isa mt_llvm_gemm_host_isa(void)
{
    char *f = LLVMGetHostCPUFeatures();
    mt_llvm_gemm_isa isa = MT_LLVM_GEMM_ISA_GENERIC;
    if (f && strstr(f, "+avx512f"))
        isa = MT_LLVM_GEMM_ISA_AVX512;
    else if (f && strstr(f, "+avx2") && strstr(f, "+fma"))
        isa = MT_LLVM_GEMM_ISA_AVX2;
    LLVMDisposeMessage(f);
    return isa;
}

/* Register blocks: with 16 vector registers, 6 x 2 accumulators plus 2 vectors of B and a
 * broadcast. With 32, 8 x 2 accumulators: as fast inside the kernel as 12 x 2 (16
 * independent FMA chains cover the latency) and faster overall, because the M of neural
 * network shapes is usually a multiple of 8, so no partial blocks (measured single-threaded:
 * +19% at n = 64, +5% at 128 and 256, +2% at 1024). The cache blocks are sized for 32 KiB L1
 * and >= 512 KiB L2 per core (Zen 3/4, Skylake-X): an Ap panel is 8 x 384 x 4 = 12 KiB, Bp is
 * 384 x 384 x 4 = 576 KiB. MC = 240 keeps the whole scratch under 1 MiB (it may live on a
 * thread's stack) while B is repacked only once per 240 rows. */
static mt_gemm_blocking blocking_for(const mt_llvm_gemm_desc *d)
{
    mt_gemm_blocking bl;
    bl.isa = d->isa == MT_LLVM_GEMM_ISA_HOST ? mt_llvm_gemm_host_isa() : d->isa;
    bl.esize = d->dtype == MT_DTYPE_F64 ? 8 : 4;
    int vbytes = bl.isa == MT_LLVM_GEMM_ISA_AVX512 ? 64 : bl.isa == MT_LLVM_GEMM_ISA_AVX2 ? 32 : 16;
    bl.vl = vbytes / bl.esize;
    bl.nv = 2;
    bl.fma = bl.isa != MT_LLVM_GEMM_ISA_GENERIC;
    bl.mr = bl.isa == MT_LLVM_GEMM_ISA_AVX512 ? 8 : 6;
    bl.nr = (int64_t)bl.nv * bl.vl;
    bl.kc = 1536 / bl.esize;
    bl.sub = bl.esize == 4 && d->f64_flush > 0 ? d->f64_flush : 0;
    bl.mc = 240;
    bl.nc = 384;
    bl.mcb = min64(bl.mc, round_up(d->M, bl.mr));
    bl.kcb = min64(bl.kc, d->K);
    bl.ncb = min64(bl.nc, round_up(d->N, bl.nr));
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

/* Scratch layout in elements from the 64-byte aligned start: Ap, then Bp, then the edge
 * tile, each starting on a 64-byte boundary so packed vectors load aligned. */
static int64_t bp_offset(const mt_gemm_blocking *bl)
{
    return round_up(bl->mcb * bl->kcb, 64 / bl->esize);
}

static int64_t tile_offset(const mt_gemm_blocking *bl)
{
    return bp_offset(bl) + round_up(bl->kcb * bl->ncb, 64 / bl->esize);
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

int64_t mt_llvm_gemm_row_block(const mt_llvm_gemm_desc *d) { return blocking_for(d).mr; }

/* The product the micro-kernel driver sees: trailing batch axes along which B is broadcast
 * and A and C rows are stacked contiguously (x[..., M, K] . w[K, N]) fold into M, so B is
 * packed once for all of them; the remaining outer axes stay a loop. Row numbering is
 * unchanged: row r of the folded product is still row r of the batched one. */
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

/* Ap, Bp and the edge tile (f64 when widening, else at most 8 bytes an element), plus the
 * slack to align the start. */
static int64_t scratch_bytes(const mt_gemm_blocking *bl)
{
    return tile_offset(bl) * bl->esize + bl->mr * bl->nr * 8 + 64;
}

size_t mt_llvm_gemm_scratch_bytes(const mt_llvm_gemm_desc *d)
{
    mt_llvm_gemm_desc core;
    fold_batches(d, &core);
    mt_gemm_blocking bl = blocking_for(&core);
    return (size_t)scratch_bytes(&bl);
}

/* ---- the driver ------------------------------------------------------------------------- */

/* C[row0+i, col0+j] (+)= tile[i*NR + j] for the valid mr x nr part of an edge tile, with
 * the same operations per element as the kernel's SET and ADD: a full tile and an edge tile
 * give the same bits. */
static void emit_edge_store(mt_gemm_gen *g, LLVMValueRef crow, LLVMValueRef tile, LLVMValueRef mr,
                            LLVMValueRef nr, LLVMValueRef first)
{
    mt_gemm_loop li, lj;
    LLVMValueRef i = loop_open(g, &li, c64(g, 0), mr, 1, "edge_i");
    LLVMValueRef cr = gep(g, crow, mul(g, i, c64(g, g->d->ldc)));
    LLVMValueRef off =
        add(g, mul(g, i, c64(g, g->bl.nr)), loop_open(g, &lj, c64(g, 0), nr, 1, "edge_j"));
    LLVMValueRef j = lj.iv;
    LLVMValueRef tp = LLVMBuildGEP2(g->b, g->wt, tile, &off, 1, "");
    LLVMValueRef t = LLVMBuildLoad2(g->b, g->wt, tp, "");
    LLVMSetAlignment(t, g->bl.sub ? 8 : (unsigned)g->bl.esize);
    LLVMValueRef p = gep(g, cr, j);
    LLVMBasicBlockRef set = block(g, "edge_set"), accum = block(g, "edge_acc");
    LLVMBasicBlockRef next = block(g, "edge_next");
    LLVMBuildCondBr(g->b, first, set, accum);
    LLVMPositionBuilderAtEnd(g->b, set);
    store_elem(g, g->bl.sub ? LLVMBuildFPTrunc(g->b, t, g->t, "") : t, p);
    LLVMBuildBr(g->b, next);
    LLVMPositionBuilderAtEnd(g->b, accum);
    LLVMValueRef old = load_elem(g, p);
    if (g->bl.sub)
        store_elem(
            g,
            LLVMBuildFPTrunc(g->b, LLVMBuildFAdd(g->b, LLVMBuildFPExt(g->b, old, g->wt, ""), t, ""),
                             g->t, ""),
            p);
    else
        store_elem(g, LLVMBuildFAdd(g->b, old, t, ""), p);
    LLVMBuildBr(g->b, next);
    LLVMPositionBuilderAtEnd(g->b, next);
    loop_close(g, &lj);
    loop_close(g, &li);
}

static void emit_driver(mt_gemm_gen *g, LLVMValueRef fn, LLVMValueRef kernel)
{
    const mt_gemm_blocking *bl = &g->bl;
    const mt_llvm_gemm_desc *d = g->d;
    open_fn(g, fn);
    LLVMValueRef A = LLVMGetParam(fn, 0), B = LLVMGetParam(fn, 1), C = LLVMGetParam(fn, 2);
    LLVMValueRef mb = max_v(g, LLVMGetParam(fn, 3), c64(g, 0));
    LLVMValueRef me = min_v(g, LLVMGetParam(fn, 4), c64(g, d->M));

    if (d->K == 0) {
        /* An empty sum: C = 0, or C unchanged when accumulating. */
        if (!d->accumulate) {
            mt_gemm_loop li, lj;
            LLVMValueRef i = loop_open(g, &li, mb, me, 1, "zero_i");
            LLVMValueRef crow = gep(g, C, mul(g, i, c64(g, d->ldc)));
            LLVMValueRef j = loop_open(g, &lj, c64(g, 0), c64(g, d->N), 1, "zero_j");
            store_elem(g, LLVMConstNull(g->t), gep(g, crow, j));
            loop_close(g, &lj);
            loop_close(g, &li);
        }
        LLVMBuildRetVoid(g->b);
        close_fn(g);
        return;
    }

    /* Without a scratch pointer the panels go on the stack (a dynamic alloca, so a caller
     * that passes scratch needs no stack for them); then align to 64 bytes. */
    LLVMTypeRef i8p = LLVMPointerType(LLVMInt8TypeInContext(g->ctx), 0);
    LLVMValueRef slot = var(g, i8p, "scratch");
    LLVMValueRef given = LLVMGetParam(fn, 5);
    LLVMBuildStore(g->b, given, slot);
    LLVMBasicBlockRef on_stack = block(g, "on_stack"), have = block(g, "have_scratch");
    LLVMBuildCondBr(g->b, LLVMBuildIsNull(g->b, given, ""), on_stack, have);
    LLVMPositionBuilderAtEnd(g->b, on_stack);
    LLVMValueRef mem = LLVMBuildArrayAlloca(g->b, LLVMInt8TypeInContext(g->ctx),
                                            c64(g, scratch_bytes(bl)), "stack_scratch");
    LLVMSetAlignment(mem, 64);
    LLVMBuildStore(g->b, mem, slot);
    LLVMBuildBr(g->b, have);
    LLVMPositionBuilderAtEnd(g->b, have);
    LLVMValueRef s = LLVMBuildPtrToInt(g->b, LLVMBuildLoad2(g->b, i8p, slot, ""), g->i64, "");
    s = LLVMBuildAnd(g->b, add(g, s, c64(g, 63)), c64(g, ~(int64_t)63), "");
    LLVMValueRef ap = LLVMBuildIntToPtr(g->b, s, g->tp, "ap");
    LLVMValueRef bp = gep(g, ap, c64(g, bp_offset(bl)));
    LLVMValueRef tile = LLVMBuildBitCast(g->b, gep(g, ap, c64(g, tile_offset(bl))),
                                         LLVMPointerType(g->wt, 0), "tile");

    mt_gemm_loop lic, lpc, ljc, lir, ljr;
    LLVMValueRef ic = loop_open(g, &lic, mb, me, bl->mc, "ic");
    LLVMValueRef mc = min_v(g, c64(g, bl->mc), sub(g, me, ic));
    LLVMValueRef pc = loop_open(g, &lpc, c64(g, 0), c64(g, d->K), bl->kc, "pc");
    LLVMValueRef kc = min_v(g, c64(g, bl->kc), sub(g, c64(g, d->K), pc));
    LLVMValueRef first = d->accumulate ? LLVMConstInt(g->i1, 0, 0)
                                       : LLVMBuildICmp(g->b, LLVMIntEQ, pc, c64(g, 0), "first");
    mt_gemm_emit_pack_a(g, A, ap, ic, mc, pc, kc);
    LLVMValueRef jc = loop_open(g, &ljc, c64(g, 0), c64(g, d->N), bl->nc, "jc");
    LLVMValueRef nc = min_v(g, c64(g, bl->nc), sub(g, c64(g, d->N), jc));
    mt_gemm_emit_pack_b(g, B, bp, jc, nc, pc, kc);
    LLVMValueRef ir = loop_open(g, &lir, c64(g, 0), mc, bl->mr, "ir");
    LLVMValueRef mr = min_v(g, c64(g, bl->mr), sub(g, mc, ir));
    LLVMValueRef apanel = gep(g, ap, mul(g, ir, kc));
    LLVMValueRef crow0 = gep(g, C, mul(g, add(g, ic, ir), c64(g, d->ldc)));
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
    LLVMValueRef args[7] = {kc, apanel, bpanel, crow, c64(g, d->ldc), mode, tile};
    LLVMBuildCall2(g->b, kty, kernel, args, 7, "");
    LLVMBuildBr(g->b, next);

    LLVMPositionBuilderAtEnd(g->b, bedge);
    LLVMValueRef eargs[7] = {
        kc, apanel, bpanel, crow, c64(g, d->ldc), LLVMConstInt(g->i32, MT_GEMM_RAW, 0), tile};
    LLVMBuildCall2(g->b, kty, kernel, eargs, 7, "");
    emit_edge_store(g, crow, tile, mr, nr, first);
    LLVMBuildBr(g->b, next);

    LLVMPositionBuilderAtEnd(g->b, next);
    loop_close(g, &ljr);
    loop_close(g, &lir);
    loop_close(g, &ljc);
    loop_close(g, &lpc);
    loop_close(g, &lic);
    LLVMBuildRetVoid(g->b);
    close_fn(g);
}

/* ---- entry point ------------------------------------------------------------------------ */

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

/* void name(const T *A, const T *B, T *C, i64 row_begin, i64 row_end, i8 *scratch) over the
 * batch axes of g->d: each maximal run of rows inside one batch becomes one call of `core`
 * (the single product, rows numbered within the batch) on that batch's operands. */
static void emit_batch_wrapper(mt_gemm_gen *g, LLVMValueRef fn, LLVMValueRef core, int64_t core_m)
{
    const mt_llvm_gemm_desc *d = g->d;
    int64_t nouter = 1;
    for (int i = 0; i < d->nbatch; i++)
        nouter *= d->batch_dims[i];
    open_fn(g, fn);
    LLVMValueRef rb = max_v(g, LLVMGetParam(fn, 3), c64(g, 0));
    LLVMValueRef re = min_v(g, LLVMGetParam(fn, 4), c64(g, nouter * core_m));
    LLVMValueRef slot = var(g, g->i64, "row");
    LLVMBuildStore(g->b, rb, slot);
    LLVMBasicBlockRef cond = block(g, "row_cond"), body = block(g, "row_body");
    LLVMBasicBlockRef done = block(g, "done");
    LLVMBuildBr(g->b, cond);
    LLVMPositionBuilderAtEnd(g->b, cond);
    LLVMValueRef r = LLVMBuildLoad2(g->b, g->i64, slot, "row");
    LLVMBuildCondBr(g->b, LLVMBuildICmp(g->b, LLVMIntSLT, r, re, ""), body, done);
    LLVMPositionBuilderAtEnd(g->b, body);
    LLVMValueRef bi = LLVMBuildSDiv(g->b, r, c64(g, core_m), "batch");
    LLVMValueRef m0 = sub(g, r, mul(g, bi, c64(g, core_m)));
    LLVMValueRef m1 = min_v(g, c64(g, core_m), add(g, m0, sub(g, re, r)));
    LLVMValueRef off[3] = {c64(g, 0), c64(g, 0), c64(g, 0)};
    const int64_t *strides[3] = {d->batch_a, d->batch_b, d->batch_c};
    LLVMValueRef rest = bi;
    for (int i = d->nbatch - 1; i >= 0; i--) {
        LLVMValueRef idx = LLVMBuildSRem(g->b, rest, c64(g, d->batch_dims[i]), "");
        rest = LLVMBuildSDiv(g->b, rest, c64(g, d->batch_dims[i]), "");
        for (int o = 0; o < 3; o++)
            off[o] = add(g, off[o], mul(g, idx, c64(g, strides[o][i])));
    }
    LLVMValueRef args[6];
    for (int o = 0; o < 3; o++)
        args[o] = gep(g, LLVMGetParam(fn, (unsigned)o), off[o]);
    args[3] = m0;
    args[4] = m1;
    args[5] = LLVMGetParam(fn, 5);
    LLVMBuildCall2(g->b, LLVMGlobalGetValueType(core), core, args, 6, "");
    LLVMBuildStore(g->b, add(g, r, sub(g, m1, m0)), slot);
    LLVMBuildBr(g->b, cond);
    LLVMPositionBuilderAtEnd(g->b, done);
    LLVMBuildRetVoid(g->b);
    close_fn(g);
}

static LLVMValueRef add_gemm_fn(mt_gemm_gen *g, const char *name)
{
    LLVMTypeRef i8p = LLVMPointerType(LLVMInt8TypeInContext(g->ctx), 0);
    LLVMTypeRef params[6] = {g->tp, g->tp, g->tp, g->i64, g->i64, i8p};
    LLVMTypeRef fty = LLVMFunctionType(LLVMVoidTypeInContext(g->ctx), params, 6, 0);
    LLVMValueRef fn = LLVMAddFunction(g->mod, name, fty);
    add_fn_attr(g, fn, "nounwind");
    for (unsigned i = 0; i < 6; i++) {
        if (i != 3 && i != 4)
            add_param_attr(g, fn, i, "noalias");
    }
    return fn;
}

mt_status mt_llvm_gemm_emit(LLVMModuleRef mod, const char *name, const mt_llvm_gemm_desc *d,
                            LLVMValueRef *out, mt_diag *diag)
{
    if (out)
        *out = NULL;
    if (!mod || !name || !d)
        return mt_diag_set(diag, MT_ERR_ARG, "gemm: NULL module, name or descriptor");
    mt_status st = check_desc(d, diag);
    if (st != MT_OK)
        return st;
    char kname[256], cname[256];
    int n1 = snprintf(kname, sizeof kname, "%s.kernel", name);
    int n2 = snprintf(cname, sizeof cname, "%s.gemm", name);
    if (n1 < 0 || (size_t)n1 >= sizeof kname || n2 < 0 || (size_t)n2 >= sizeof cname)
        return mt_diag_set(diag, MT_ERR_ARG, "gemm: function name too long");
    if (LLVMGetNamedFunction(mod, name) || LLVMGetNamedFunction(mod, kname) ||
        LLVMGetNamedFunction(mod, cname))
        return mt_diag_set(diag, MT_ERR_ARG, "gemm: function %s already in the module", name);

    mt_llvm_gemm_desc core;
    fold_batches(d, &core);
    mt_gemm_gen g;
    memset(&g, 0, sizeof g);
    g.ctx = LLVMGetModuleContext(mod);
    g.mod = mod;
    g.d = &core;
    g.bl = blocking_for(&core);
    g.i1 = LLVMInt1TypeInContext(g.ctx);
    g.i32 = LLVMInt32TypeInContext(g.ctx);
    g.i64 = LLVMInt64TypeInContext(g.ctx);
    g.t = d->dtype == MT_DTYPE_F64 ? LLVMDoubleTypeInContext(g.ctx) : LLVMFloatTypeInContext(g.ctx);
    g.vt = LLVMVectorType(g.t, (unsigned)g.bl.vl);
    g.tp = LLVMPointerType(g.t, 0);
    g.vtp = LLVMPointerType(g.vt, 0);
    g.wt = g.bl.sub ? LLVMDoubleTypeInContext(g.ctx) : g.t;
    g.wvt = LLVMVectorType(LLVMDoubleTypeInContext(g.ctx), (unsigned)(g.bl.vl / 2));
    if (g.bl.fma) {
        unsigned id = LLVMLookupIntrinsicID("llvm.fma", 8);
        g.fma = LLVMGetIntrinsicDeclaration(mod, id, &g.vt, 1);
        g.fma_ty = LLVMIntrinsicGetType(g.ctx, id, &g.vt, 1);
    }
    g.b = LLVMCreateBuilderInContext(g.ctx);
    g.ab = LLVMCreateBuilderInContext(g.ctx);

    LLVMValueRef kernel = mt_gemm_emit_microkernel(&g, kname);
    LLVMValueRef fn;
    if (core.nbatch == 0) {
        fn = add_gemm_fn(&g, name);
        emit_driver(&g, fn, kernel);
    } else {
        LLVMValueRef cfn = add_gemm_fn(&g, cname);
        LLVMSetLinkage(cfn, LLVMInternalLinkage);
        emit_driver(&g, cfn, kernel);
        fn = add_gemm_fn(&g, name);
        emit_batch_wrapper(&g, fn, cfn, core.M);
    }

    LLVMDisposeBuilder(g.b);
    LLVMDisposeBuilder(g.ab);
    if (out)
        *out = fn;
    return MT_OK;
}

mt_status mt_llvm_gemm_emit_kernel(LLVMModuleRef mod, const char *name, const mt_llvm_gemm_desc *d,
                                   int a, int b, int c, LLVMValueRef *out, mt_diag *diag)
{
    if (out)
        *out = NULL;
    if (!mod || !name || !d)
        return mt_diag_set(diag, MT_ERR_ARG, "gemm: NULL module, name or descriptor");
    if (a < 0 || b < 0 || c < 0)
        return mt_diag_set(diag, MT_ERR_ARG, "gemm: negative buffer id");
    char gname[256];
    int n = snprintf(gname, sizeof gname, "%s.mm", name);
    if (n < 0 || (size_t)n >= sizeof gname)
        return mt_diag_set(diag, MT_ERR_ARG, "gemm: function name too long");
    if (LLVMGetNamedFunction(mod, name))
        return mt_diag_set(diag, MT_ERR_ARG, "gemm: function %s already in the module", name);
    LLVMValueRef gemm;
    mt_status st = mt_llvm_gemm_emit(mod, gname, d, &gemm, diag);
    if (st != MT_OK)
        return st;
    LLVMSetLinkage(gemm, LLVMInternalLinkage);

    LLVMContextRef ctx = LLVMGetModuleContext(mod);
    LLVMTypeRef i8p = LLVMPointerType(LLVMInt8TypeInContext(ctx), 0);
    LLVMTypeRef i64 = LLVMInt64TypeInContext(ctx);
    LLVMTypeRef params[3] = {LLVMPointerType(i8p, 0), i64, i64};
    LLVMValueRef fn =
        LLVMAddFunction(mod, name, LLVMFunctionType(LLVMVoidTypeInContext(ctx), params, 3, 0));
    unsigned nounwind = LLVMGetEnumAttributeKindForName("nounwind", 8);
    LLVMAddAttributeAtIndex(fn, LLVMAttributeFunctionIndex,
                            LLVMCreateEnumAttribute(ctx, nounwind, 0));
    LLVMBuilderRef bld = LLVMCreateBuilderInContext(ctx);
    LLVMPositionBuilderAtEnd(bld, LLVMAppendBasicBlockInContext(ctx, fn, "entry"));
    LLVMTypeRef gty = LLVMGlobalGetValueType(gemm);
    LLVMTypeRef gparams[6];
    LLVMGetParamTypes(gty, gparams);
    LLVMValueRef args[6];
    const int ids[3] = {a, b, c};
    for (int i = 0; i < 3; i++) {
        LLVMValueRef idx = LLVMConstInt(i64, (unsigned long long)ids[i], 0);
        LLVMValueRef slot = LLVMBuildGEP2(bld, i8p, LLVMGetParam(fn, 0), &idx, 1, "");
        LLVMValueRef p = LLVMBuildLoad2(bld, i8p, slot, "");
        LLVMSetAlignment(p, 8);
        args[i] = LLVMBuildBitCast(bld, p, gparams[i], "");
    }
    args[3] = LLVMGetParam(fn, 1);
    args[4] = LLVMGetParam(fn, 2);
    args[5] = LLVMConstNull(i8p); /* panels on the calling thread's stack */
    LLVMBuildCall2(bld, gty, gemm, args, 6, "");
    LLVMBuildRetVoid(bld);
    LLVMDisposeBuilder(bld);
    if (out)
        *out = fn;
    return MT_OK;
}
