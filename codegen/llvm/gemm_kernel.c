/* gemm_kernel.c - the GEMM micro-kernel and the packing of A and B panels, as LLVM IR.
 *
 * The per-tile half of the GEMM emitter (gemm.c has the blocking, the loops around it and the
 * functions; its header comment has the whole design). Each body here is a piece of its own
 * (gemm.h), shared by every product of its dtype and ISA (and, for packing, transpose):
 * sizes and strides are the functions' arguments. Layouts, with MR x NR micro-tiles:
 *   Ap: MR-row panels, one after another; panel p holds A[p*MR + r, k] at [k*MR + r]
 *   Bp: NR-column panels; panel q holds B[k, q*NR + c] at [k*NR + c]
 * Partial panels are padded with zeros, so the kernel never needs an edge case.
 */
#include "codegen/llvm/gemm_gen.h"

/* ---- the micro-kernel -------------------------------------------------------------------- */

/* One k step: acc[r][v] += Ap[k*MR + r] * Bp[k*NR + v*VL ...]. */
static void kernel_step(mt_gemm_gen *g, LLVMValueRef ap, LLVMValueRef bp, LLVMValueRef k,
                        LLVMValueRef *acc)
{
    const mt_gemm_blocking *bl = &g->bl;
    LLVMValueRef bv[8];
    LLVMValueRef brow = gep(g, bp, mul(g, k, c64(g, bl->nr)));
    for (int v = 0; v < bl->nv; v++)
        bv[v] = load_vec(g, gep(g, brow, c64(g, (int64_t)v * bl->vl)), true);
    LLVMValueRef arow = gep(g, ap, mul(g, k, c64(g, bl->mr)));
    for (int64_t r = 0; r < bl->mr; r++) {
        LLVMValueRef a = splat(g, load_elem(g, gep(g, arow, c64(g, r))));
        for (int v = 0; v < bl->nv; v++) {
            LLVMValueRef slot = acc[r * bl->nv + v];
            LLVMValueRef s = LLVMBuildLoad2(g->b, g->vt, slot, "");
            LLVMBuildStore(g->b, madd(g, a, bv[v], s), slot);
        }
    }
}

/* A <VL/2 x double> half of an f32 accumulator, widened. */
static LLVMValueRef widen_half(mt_gemm_gen *g, LLVMValueRef v, int half)
{
    int h = g->bl.vl / 2;
    LLVMValueRef idx[32];
    for (int i = 0; i < h; i++)
        idx[i] = LLVMConstInt(g->i32, (unsigned long long)(half * h + i), 0);
    LLVMValueRef sh =
        LLVMBuildShuffleVector(g->b, v, LLVMGetUndef(g->vt), LLVMConstVector(idx, (unsigned)h), "");
    return LLVMBuildFPExt(g->b, sh, g->wvt, "");
}

/* Pointer to the <VL/2 x double> at element offset `off` of the f64 tile w. */
static LLVMValueRef wide_at(mt_gemm_gen *g, LLVMValueRef w, int64_t off)
{
    LLVMValueRef idx = c64(g, off);
    LLVMValueRef p = LLVMBuildGEP2(g->b, g->wt, w, &idx, 1, "");
    return LLVMBuildBitCast(g->b, p, LLVMPointerType(g->wvt, 0), "");
}

static LLVMValueRef load_wide(mt_gemm_gen *g, LLVMValueRef p)
{
    LLVMValueRef v = LLVMBuildLoad2(g->b, g->wvt, p, "");
    LLVMSetAlignment(v, (unsigned)(g->bl.vl / 2 * 8));
    return v;
}

static void store_wide(mt_gemm_gen *g, LLVMValueRef v, LLVMValueRef p)
{
    LLVMSetAlignment(LLVMBuildStore(g->b, v, p), (unsigned)(g->bl.vl / 2 * 8));
}

/* The k loop from k0 to k1 over the accumulators: unrolled by 4 so the loop overhead hides
 * under the FMAs, then the remainder. */
static void emit_k_loop(mt_gemm_gen *g, LLVMValueRef ap, LLVMValueRef bp, LLVMValueRef k0,
                        LLVMValueRef k1, LLVMValueRef *acc)
{
    enum { UNROLL = 4 };
    LLVMValueRef n4 = LLVMBuildAnd(g->b, sub(g, k1, k0), c64(g, ~(int64_t)(UNROLL - 1)), "");
    LLVMValueRef k4 = add(g, k0, n4);
    mt_gemm_loop lk;
    LLVMValueRef k = loop_open(g, &lk, k0, k4, UNROLL, "k");
    for (int u = 0; u < UNROLL; u++)
        kernel_step(g, ap, bp, add(g, k, c64(g, u)), acc);
    loop_close(g, &lk);
    mt_gemm_loop lr;
    k = loop_open(g, &lr, k4, k1, 1, "krem");
    kernel_step(g, ap, bp, k, acc);
    loop_close(g, &lr);
}

/* The micro-kernel piece, void kernel(i64 kc, T *ap, T *bp, T *c, i64 ldc, i32 mode, W *w):
 * tile = sum over k < kc of the panels' outer products, then by mode: c = tile (SET),
 * c = c + tile (ADD), or leave the tile in w (RAW, for edge tiles).
 *
 * Narrow (f64, or f32 with bl.sub == 0): the tile is the accumulators; W is T and w is only
 * written in RAW mode. Wide (f32 with bl.sub > 0): the accumulators restart every bl.sub
 * steps and are added into the f64 tile w, and SET/ADD round once from f64: c = (float)w or
 * (float)((double)c + w). */
void mt_gemm_emit_microkernel(mt_gemm_gen *g, LLVMValueRef fn)
{
    const mt_gemm_blocking *bl = &g->bl;
    for (unsigned i = 1; i <= 3; i++)
        add_param_attr(g, fn, i, "noalias");
    add_param_attr(g, fn, 6, "noalias");
    if (bl->isa == MT_LLVM_GEMM_ISA_AVX512) {
        /* Keep the 512-bit vectors whole even on CPUs that LLVM tunes for 256 bits. */
        add_string_attr(g, fn, "prefer-vector-width", "512");
        add_string_attr(g, fn, "min-legal-vector-width", "512");
    }
    open_fn(g, fn);
    LLVMValueRef kc = LLVMGetParam(fn, 0), ap = LLVMGetParam(fn, 1), bp = LLVMGetParam(fn, 2);
    LLVMValueRef c = LLVMGetParam(fn, 3), ldc = LLVMGetParam(fn, 4), mode = LLVMGetParam(fn, 5);
    LLVMValueRef w = LLVMGetParam(fn, 6);

    LLVMValueRef acc[64];
    int nacc = (int)bl->mr * bl->nv;
    for (int i = 0; i < nacc; i++)
        acc[i] = var(g, g->vt, "acc");

    if (!bl->sub) {
        for (int i = 0; i < nacc; i++)
            LLVMBuildStore(g->b, LLVMConstNull(g->vt), acc[i]);
        emit_k_loop(g, ap, bp, c64(g, 0), kc, acc);
    } else {
        for (int64_t e = 0; e < bl->mr * bl->nr; e += bl->vl / 2)
            store_wide(g, LLVMConstNull(g->wvt), wide_at(g, w, e));
        mt_gemm_loop ls;
        LLVMValueRef s0 = loop_open(g, &ls, c64(g, 0), kc, bl->sub, "sub");
        LLVMValueRef s1 = min_v(g, add(g, s0, c64(g, bl->sub)), kc);
        for (int i = 0; i < nacc; i++)
            LLVMBuildStore(g->b, LLVMConstNull(g->vt), acc[i]);
        emit_k_loop(g, ap, bp, s0, s1, acc);
        /* Volatile: otherwise LICM keeps the f64 tile in registers across the loop, which
         * spills the accumulators; it belongs in L1. */
        for (int64_t r = 0; r < bl->mr; r++) {
            for (int v = 0; v < bl->nv; v++) {
                LLVMValueRef a = LLVMBuildLoad2(g->b, g->vt, acc[r * bl->nv + v], "");
                for (int h = 0; h < 2; h++) {
                    LLVMValueRef p = wide_at(g, w, r * bl->nr + v * bl->vl + h * bl->vl / 2);
                    LLVMValueRef old = load_wide(g, p);
                    LLVMSetVolatile(old, 1);
                    LLVMValueRef st =
                        LLVMBuildStore(g->b, LLVMBuildFAdd(g->b, old, widen_half(g, a, h), ""), p);
                    LLVMSetAlignment(st, (unsigned)(bl->vl / 2 * 8));
                    LLVMSetVolatile(st, 1);
                }
            }
        }
        loop_close(g, &ls);
    }

    LLVMBasicBlockRef set = block(g, "set"), accum = block(g, "accum"), raw = block(g, "raw");
    LLVMBasicBlockRef done = block(g, "done");
    LLVMValueRef sw = LLVMBuildSwitch(g->b, mode, raw, 2);
    LLVMAddCase(sw, LLVMConstInt(g->i32, MT_GEMM_SET, 0), set);
    LLVMAddCase(sw, LLVMConstInt(g->i32, MT_GEMM_ADD, 0), accum);
    for (int pass = 0; pass < 3; pass++) {
        LLVMPositionBuilderAtEnd(g->b, pass == 0 ? set : pass == 1 ? accum : raw);
        if (pass == 2 && bl->sub) /* the f64 tile already holds the result */
            goto next_pass;
        for (int64_t r = 0; r < bl->mr; r++) {
            LLVMValueRef crow = gep(g, c, mul(g, ldc, c64(g, r)));
            for (int v = 0; v < bl->nv; v++) {
                int64_t off = (int64_t)v * bl->vl;
                LLVMValueRef p = gep(g, crow, c64(g, off));
                LLVMValueRef t;
                if (pass == 2) {
                    t = LLVMBuildLoad2(g->b, g->vt, acc[r * bl->nv + v], "");
                    store_vec(g, t, gep(g, w, c64(g, r * bl->nr + off)), true);
                    continue;
                }
                if (!bl->sub) {
                    t = LLVMBuildLoad2(g->b, g->vt, acc[r * bl->nv + v], "");
                    if (pass == 1)
                        t = LLVMBuildFAdd(g->b, load_vec(g, p, false), t, "");
                    store_vec(g, t, p, false);
                    continue;
                }
                LLVMValueRef old = pass == 1 ? load_vec(g, p, false) : NULL;
                LLVMValueRef halves[2];
                for (int h = 0; h < 2; h++) {
                    halves[h] = load_wide(g, wide_at(g, w, r * bl->nr + off + h * bl->vl / 2));
                    if (old)
                        halves[h] = LLVMBuildFAdd(g->b, widen_half(g, old, h), halves[h], "");
                    halves[h] = LLVMBuildFPTrunc(g->b, halves[h],
                                                 LLVMVectorType(g->t, (unsigned)bl->vl / 2), "");
                }
                LLVMValueRef idx[64];
                for (int i = 0; i < bl->vl; i++)
                    idx[i] = LLVMConstInt(g->i32, (unsigned long long)i, 0);
                t = LLVMBuildShuffleVector(g->b, halves[0], halves[1],
                                           LLVMConstVector(idx, (unsigned)bl->vl), "");
                store_vec(g, t, p, false);
            }
        }
    next_pass:
        LLVMBuildBr(g->b, done);
    }
    LLVMPositionBuilderAtEnd(g->b, done);
    LLVMBuildRetVoid(g->b);
    close_fn(g);
}

/* ---- packing ------------------------------------------------------------------------------ */

/* Element (i, k) of A and (k, j) of B as pointers, honouring the transposes. */
static LLVMValueRef a_at(mt_gemm_gen *g, LLVMValueRef A, LLVMValueRef i, LLVMValueRef k)
{
    if (g->piece.trans_a)
        return gep(g, A, add(g, mul(g, k, g->lda), i));
    return gep(g, A, add(g, mul(g, i, g->lda), k));
}

static LLVMValueRef b_at(mt_gemm_gen *g, LLVMValueRef B, LLVMValueRef k, LLVMValueRef j)
{
    if (g->piece.trans_b)
        return gep(g, B, add(g, mul(g, j, g->ldb), k));
    return gep(g, B, add(g, mul(g, k, g->ldb), j));
}

/* log2(m) rounds over regs[0 .. m): regs[i] = even(regs[2i], regs[2i+1]) and regs[i + m/2] =
 * odd(regs[2i], regs[2i+1]), where even(a, b) takes, in every group of `grp` elements, the
 * even-numbered blocks of `blk` elements of a and then those of b, and odd the odd-numbered
 * ones. Applied to m rows of m blocks per group, this transposes the m x m matrix of blocks in
 * each group (rows[j] ends up holding block j of every row). */
static void unshuffle(mt_gemm_gen *g, LLVMValueRef *regs, int m, int blk, int grp)
{
    int n = g->bl.vl;
    LLVMValueRef even[64], odd[64], out[32];
    for (int e = 0; e < n; e++) {
        int group = e / grp, at = e % grp, half = at / (grp / 2), within = at % (grp / 2);
        int src = (half ? n : 0) + group * grp + (within / blk) * 2 * blk + within % blk;
        even[e] = LLVMConstInt(g->i32, (unsigned long long)src, 0);
        odd[e] = LLVMConstInt(g->i32, (unsigned long long)(src + blk), 0);
    }
    LLVMValueRef even_mask = LLVMConstVector(even, (unsigned)n);
    LLVMValueRef odd_mask = LLVMConstVector(odd, (unsigned)n);
    for (int round = 1; round < m; round *= 2) {
        for (int i = 0; i < m / 2; i++) {
            out[i] = LLVMBuildShuffleVector(g->b, regs[2 * i], regs[2 * i + 1], even_mask, "");
            out[i + m / 2] =
                LLVMBuildShuffleVector(g->b, regs[2 * i], regs[2 * i + 1], odd_mask, "");
        }
        memcpy(regs, out, (size_t)m * sizeof *regs);
    }
}

/* Transposes the VL x VL block held in rows[0 .. VL-1] (one vector per row) in place, with the
 * shuffles x86 has as single instructions: first the E x E blocks inside each 128-bit lane
 * (E = 16 bytes / element size) are transposed, rows taken E at a time (shufps, unpcklpd and
 * unpckhpd patterns); then, for each position j in a lane, the L x L matrix of whole lanes
 * (L = VL / E) of the rows that hold position j (vshuff32x4, vperm2f128 patterns). Generic
 * two-source shuffles instead became vpermt2ps with an index vector each, and took LLVM about
 * three times as long to compile. Rows that are undef (pack_a's rows past MR) fold away. */
static void transpose(mt_gemm_gen *g, LLVMValueRef *rows)
{
    int n = g->bl.vl, e = 16 / g->bl.esize;
    if (e > n)
        e = n;
    int lanes = n / e;
    for (int q = 0; q < lanes; q++)
        unshuffle(g, rows + q * e, e, 1, e);
    /* Now lane l of rows[q*E + j] holds column E*l + j of rows q*E .. q*E + E-1. */
    LLVMValueRef out[32], regs[32];
    for (int j = 0; j < e; j++) {
        for (int q = 0; q < lanes; q++)
            regs[q] = rows[q * e + j];
        unshuffle(g, regs, lanes, e, n);
        for (int l = 0; l < lanes; l++)
            out[e * l + j] = regs[l];
    }
    memcpy(rows, out, (size_t)n * sizeof *rows);
}

/* Where element (lane, k) of the panel being packed comes from: A[row0 + lane, pc + k] for A
 * panels, B[pc + k, col0 + lane] for B panels. */
typedef struct panel_src {
    LLVMValueRef base, first, pc; /* A or B, row0 or col0, pc */
    bool is_b;
} panel_src;

static LLVMValueRef panel_at(mt_gemm_gen *g, const panel_src *src, LLVMValueRef lane,
                             LLVMValueRef k)
{
    LLVMValueRef kk = add(g, src->pc, k), idx = add(g, src->first, lane);
    return src->is_b ? b_at(g, src->base, kk, idx) : a_at(g, src->base, idx, kk);
}

/* dst[k*W + lane] = element (lane, k) for k0 <= k < kc and lane < n, and 0 for n <= lane < W:
 * the element-by-element part of packing (partial panels, and the steps after the last whole
 * transposed block). Loops rather than unrolled code: it is a small part of the run time and
 * would otherwise be most of the code, which is what LLVM's compile time follows. */
static void pack_tail(mt_gemm_gen *g, const panel_src *src, LLVMValueRef dst, int64_t w,
                      LLVMValueRef k0, LLVMValueRef kc, LLVMValueRef n)
{
    mt_gemm_loop lk, lc, lz;
    LLVMValueRef k = loop_open(g, &lk, k0, kc, 1, "tail_k");
    LLVMValueRef drow = gep(g, dst, mul(g, k, c64(g, w)));
    LLVMValueRef c = loop_open(g, &lc, c64(g, 0), n, 1, "tail_copy");
    store_elem(g, load_elem(g, panel_at(g, src, c, k)), gep(g, drow, c));
    loop_close(g, &lc);
    LLVMValueRef z = loop_open(g, &lz, n, c64(g, w), 1, "tail_zero");
    store_elem(g, LLVMConstNull(g->t), gep(g, drow, z));
    loop_close(g, &lz);
    loop_close(g, &lk);
}

/* The pack_a piece: Ap[ir*kc + k*MR + r] = A[ic+ir+r, pc+k] for the mc x kc block, rows past
 * mc as zeros. Whole panels take the fast paths below; the rest goes through pack_tail. */
void mt_gemm_emit_pack_a(mt_gemm_gen *g, LLVMValueRef fn)
{
    const mt_gemm_blocking *bl = &g->bl;
    open_fn(g, fn);
    LLVMValueRef A = LLVMGetParam(fn, 0), ap = LLVMGetParam(fn, 2), ic = LLVMGetParam(fn, 3);
    LLVMValueRef mc = LLVMGetParam(fn, 4), pc = LLVMGetParam(fn, 5), kc = LLVMGetParam(fn, 6);
    g->lda = LLVMGetParam(fn, 1);
    LLVMValueRef k0 = var(g, g->i64, "k0");
    mt_gemm_loop li;
    LLVMValueRef ir = loop_open(g, &li, c64(g, 0), mc, bl->mr, "pack_a_i");
    LLVMValueRef mr = min_v(g, c64(g, bl->mr), sub(g, mc, ir));
    LLVMValueRef dst = gep(g, ap, mul(g, ir, kc));
    LLVMValueRef row0 = add(g, ic, ir);
    LLVMBuildStore(g->b, c64(g, 0), k0);
    LLVMBasicBlockRef bfull = block(g, "pack_a_full"), tail = block(g, "pack_a_tail");
    LLVMBuildCondBr(g->b, LLVMBuildICmp(g->b, LLVMIntEQ, mr, c64(g, bl->mr), ""), bfull, tail);
    LLVMPositionBuilderAtEnd(g->b, bfull);
    LLVMTypeRef panel_row = LLVMVectorType(g->t, (unsigned)bl->mr);
    LLVMTypeRef panel_row_p = LLVMPointerType(panel_row, 0);
    mt_gemm_loop lk;
    if (g->piece.trans_a) {
        /* A column of A^T's storage is contiguous: one MR-wide copy per step. */
        LLVMValueRef k = loop_open(g, &lk, c64(g, 0), kc, 1, "pack_a_k");
        LLVMValueRef src = LLVMBuildBitCast(g->b, a_at(g, A, row0, add(g, pc, k)), panel_row_p, "");
        LLVMValueRef v = LLVMBuildLoad2(g->b, panel_row, src, "");
        LLVMSetAlignment(v, (unsigned)bl->esize);
        LLVMValueRef drow = gep(g, dst, mul(g, k, c64(g, bl->mr)));
        LLVMValueRef st = LLVMBuildStore(g->b, v, LLVMBuildBitCast(g->b, drow, panel_row_p, ""));
        LLVMSetAlignment(st, (unsigned)bl->esize);
        loop_close(g, &lk);
        LLVMBuildStore(g->b, kc, k0);
    } else if (bl->mr <= bl->vl) {
        /* Rows of A are contiguous: blocks of MR rows x VL steps loaded as vectors along k,
         * transposed in registers (rows past MR are don't-cares) and stored MR lanes at a
         * time; the last kc % VL steps go to pack_tail. */
        LLVMValueRef kend = LLVMBuildAnd(g->b, kc, c64(g, ~(int64_t)(bl->vl - 1)), "");
        LLVMValueRef kb = loop_open(g, &lk, c64(g, 0), kend, bl->vl, "pack_at_k");
        LLVMValueRef rows[32], lanes[32];
        for (int r = 0; r < bl->vl; r++)
            rows[r] = r < bl->mr
                          ? load_vec(g, a_at(g, A, add(g, row0, c64(g, r)), add(g, pc, kb)), false)
                          : LLVMGetUndef(g->vt);
        transpose(g, rows);
        for (int i = 0; i < bl->mr; i++)
            lanes[i] = LLVMConstInt(g->i32, (unsigned long long)i, 0);
        LLVMValueRef first_mr = LLVMConstVector(lanes, (unsigned)bl->mr);
        for (int kk = 0; kk < bl->vl; kk++) {
            LLVMValueRef v =
                LLVMBuildShuffleVector(g->b, rows[kk], LLVMGetUndef(g->vt), first_mr, "");
            LLVMValueRef p = gep(g, dst, mul(g, add(g, kb, c64(g, kk)), c64(g, bl->mr)));
            LLVMValueRef st = LLVMBuildStore(g->b, v, LLVMBuildBitCast(g->b, p, panel_row_p, ""));
            LLVMSetAlignment(st, (unsigned)bl->esize);
        }
        loop_close(g, &lk);
        LLVMBuildStore(g->b, kend, k0);
    } else {
        /* MR > VL (f64 below AVX-512): MR elements per step, one at a time. */
        LLVMValueRef k = loop_open(g, &lk, c64(g, 0), kc, 1, "pack_a_k");
        LLVMValueRef drow = gep(g, dst, mul(g, k, c64(g, bl->mr)));
        for (int64_t r = 0; r < bl->mr; r++)
            store_elem(g, load_elem(g, a_at(g, A, add(g, row0, c64(g, r)), add(g, pc, k))),
                       gep(g, drow, c64(g, r)));
        loop_close(g, &lk);
        LLVMBuildStore(g->b, kc, k0);
    }
    LLVMBuildBr(g->b, tail);
    LLVMPositionBuilderAtEnd(g->b, tail);
    panel_src src = {A, row0, pc, false};
    pack_tail(g, &src, dst, bl->mr, LLVMBuildLoad2(g->b, g->i64, k0, ""), kc, mr);
    loop_close(g, &li);
    LLVMBuildRetVoid(g->b);
    close_fn(g);
}

/* The pack_b piece: Bp[jr*kc + k*NR + c] = B[pc+k, jc+jr+c] for the kc x nc block, columns
 * past nc as zeros. Whole panels take the fast paths below; the rest goes through pack_tail. */
void mt_gemm_emit_pack_b(mt_gemm_gen *g, LLVMValueRef fn)
{
    const mt_gemm_blocking *bl = &g->bl;
    open_fn(g, fn);
    LLVMValueRef B = LLVMGetParam(fn, 0), bp = LLVMGetParam(fn, 2), jc = LLVMGetParam(fn, 3);
    LLVMValueRef nc = LLVMGetParam(fn, 4), pc = LLVMGetParam(fn, 5), kc = LLVMGetParam(fn, 6);
    g->ldb = LLVMGetParam(fn, 1);
    LLVMValueRef k0 = var(g, g->i64, "k0");
    mt_gemm_loop lj;
    LLVMValueRef jr = loop_open(g, &lj, c64(g, 0), nc, bl->nr, "pack_b_j");
    LLVMValueRef nr = min_v(g, c64(g, bl->nr), sub(g, nc, jr));
    LLVMValueRef dst = gep(g, bp, mul(g, jr, kc));
    LLVMValueRef col0 = add(g, jc, jr);
    LLVMBuildStore(g->b, c64(g, 0), k0);
    LLVMBasicBlockRef bfull = block(g, "pack_b_full"), tail = block(g, "pack_b_tail");
    LLVMValueRef whole = LLVMBuildICmp(g->b, LLVMIntEQ, nr, c64(g, bl->nr), "");
    LLVMBuildCondBr(g->b, g->piece.trans_b ? LLVMConstInt(g->i1, 1, 0) : whole, bfull, tail);
    LLVMPositionBuilderAtEnd(g->b, bfull);
    mt_gemm_loop lk;
    if (g->piece.trans_b) {
        /* Columns of B are contiguous: VL x VL blocks loaded as vectors along k and
         * transposed in registers, about four times faster than element by element; the
         * last kc % VL steps go to pack_tail. The NV blocks of a panel are a loop rather than
         * unrolled: the same speed, and half the code for LLVM to compile. A partial panel
         * takes this path too, its columns past nr reading the last one again: those lanes
         * only ever meet outputs that are never stored (an edge tile's, or a masked store's),
         * and element by element the partial panel of a 100-column B took a third of a
         * 10 x 100 x 100 product's time. */
        LLVMValueRef kend = LLVMBuildAnd(g->b, kc, c64(g, ~(int64_t)(bl->vl - 1)), "");
        LLVMValueRef kb = loop_open(g, &lk, c64(g, 0), kend, bl->vl, "pack_bt_k");
        mt_gemm_loop lv;
        LLVMValueRef v0 = loop_open(g, &lv, c64(g, 0), c64(g, bl->nr), bl->vl, "pack_bt_v");
        LLVMValueRef rows[32];
        LLVMValueRef last = sub(g, nr, c64(g, 1));
        for (int jj = 0; jj < bl->vl; jj++) {
            LLVMValueRef col = add(g, col0, min_v(g, add(g, v0, c64(g, jj)), last));
            rows[jj] = load_vec(g, b_at(g, B, add(g, pc, kb), col), false);
        }
        transpose(g, rows);
        for (int kk = 0; kk < bl->vl; kk++) {
            LLVMValueRef off = add(g, mul(g, add(g, kb, c64(g, kk)), c64(g, bl->nr)), v0);
            store_vec(g, rows[kk], gep(g, dst, off), true);
        }
        loop_close(g, &lv);
        loop_close(g, &lk);
        LLVMBuildStore(g->b, kend, k0);
    } else {
        /* A row of B is contiguous: copy it as whole vectors. */
        LLVMValueRef k = loop_open(g, &lk, c64(g, 0), kc, 1, "pack_b_k");
        LLVMValueRef src = b_at(g, B, add(g, pc, k), col0);
        LLVMValueRef drow = gep(g, dst, mul(g, k, c64(g, bl->nr)));
        for (int v = 0; v < bl->nv; v++) {
            LLVMValueRef off = c64(g, (int64_t)v * bl->vl);
            store_vec(g, load_vec(g, gep(g, src, off), false), gep(g, drow, off), true);
        }
        loop_close(g, &lk);
        LLVMBuildStore(g->b, kc, k0);
    }
    LLVMBuildBr(g->b, tail);
    LLVMPositionBuilderAtEnd(g->b, tail);
    panel_src src = {B, col0, pc, true};
    pack_tail(g, &src, dst, bl->nr, LLVMBuildLoad2(g->b, g->i64, k0, ""), kc, nr);
    loop_close(g, &lj);
    LLVMBuildRetVoid(g->b);
    close_fn(g);
}
