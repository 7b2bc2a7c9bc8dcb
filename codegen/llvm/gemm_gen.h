/* gemm_gen.h - the shared state of the GEMM emitter: gemm.c (blocking, driver loops, entry
 * point) and gemm_kernel.c (micro-kernel and packing). Internal to codegen/llvm; gemm.h is
 * the interface.
 */
#ifndef MT_CODEGEN_LLVM_GEMM_GEN_H
#define MT_CODEGEN_LLVM_GEMM_GEN_H

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include <llvm-c/Core.h>

#include "codegen/llvm/gemm.h"

/* How a GEMM is blocked (gemm.c chooses): everything here is fixed at compile time by the
 * dtype, the ISA and f64_flush; the blocks actually used are clipped to each product's sizes
 * at run time. */
typedef struct mt_gemm_blocking {
    mt_llvm_gemm_isa isa;
    int esize;      /* bytes per element */
    int vl;         /* lanes per vector */
    int nv;         /* vectors across one tile row */
    bool fma;       /* fused multiply-add, else a multiply and an add */
    int64_t mr, nr; /* micro-tile: mr rows (broadcast) x nr = nv * vl columns (vector) */
    int64_t kc;     /* K block: an Ap panel of mr x kc fits in half of L1 */
    int64_t sub;    /* f32: steps between flushes of the accumulators into f64; 0: never */
    int64_t mc, nc; /* M and N blocks: Bp (kc x nc) fits in L2; Ap (mc x kc) bounds the
                       scratch; mc % mr == 0, nc % nr == 0 */
} mt_gemm_blocking;

/* The emitter's state while it builds one piece. The small static helpers below build IR at
 * g->b: constants, element and vector access, index arithmetic, loops. */
typedef struct mt_gemm_gen {
    LLVMContextRef ctx;
    LLVMModuleRef mod;
    LLVMBuilderRef b;  /* the instruction stream */
    LLVMBuilderRef ab; /* allocas, at the end of the entry block */
    LLVMValueRef fn;   /* the function being built */
    LLVMBasicBlockRef entry;
    mt_llvm_gemm_piece piece; /* what the code may depend on (dtype, ISA, transposes) */
    mt_gemm_blocking bl;
    LLVMValueRef lda, ldb; /* row strides of A and B: run-time values of the function */
    LLVMTypeRef i1, i32, i64, t, vt, tp, vtp;
    LLVMTypeRef wt, wvt; /* the tile's element type (double when wide, else T), <VL/2 x double> */
    LLVMValueRef fma;    /* llvm.fma on the vector type, when bl.fma */
    LLVMTypeRef fma_ty;
} mt_gemm_gen;

static inline LLVMValueRef c64(mt_gemm_gen *g, int64_t v)
{
    return LLVMConstInt(g->i64, (unsigned long long)v, 1);
}

static inline LLVMBasicBlockRef block(mt_gemm_gen *g, const char *name)
{
    return LLVMAppendBasicBlockInContext(g->ctx, g->fn, name);
}

/* Starts a function: an entry block for allocas, then "start" for the code. */
static inline void open_fn(mt_gemm_gen *g, LLVMValueRef fn)
{
    g->fn = fn;
    g->entry = block(g, "entry");
    LLVMPositionBuilderAtEnd(g->ab, g->entry);
    LLVMPositionBuilderAtEnd(g->b, block(g, "start"));
}

static inline void close_fn(mt_gemm_gen *g)
{
    LLVMPositionBuilderAtEnd(g->ab, g->entry);
    LLVMBuildBr(g->ab, LLVMGetNextBasicBlock(g->entry));
}

static inline LLVMValueRef var(mt_gemm_gen *g, LLVMTypeRef ty, const char *name)
{
    return LLVMBuildAlloca(g->ab, ty, name);
}

static inline LLVMValueRef gep(mt_gemm_gen *g, LLVMValueRef base, LLVMValueRef idx)
{
    return LLVMBuildGEP2(g->b, g->t, base, &idx, 1, "");
}

static inline LLVMValueRef load_elem(mt_gemm_gen *g, LLVMValueRef p)
{
    LLVMValueRef v = LLVMBuildLoad2(g->b, g->t, p, "");
    LLVMSetAlignment(v, (unsigned)g->bl.esize);
    return v;
}

static inline void store_elem(mt_gemm_gen *g, LLVMValueRef v, LLVMValueRef p)
{
    LLVMSetAlignment(LLVMBuildStore(g->b, v, p), (unsigned)g->bl.esize);
}

/* Vector access at an element pointer; `aligned` when it is a multiple of the vector size
 * from the 64-byte aligned scratch (packed panels), else element-aligned. */
static inline LLVMValueRef load_vec(mt_gemm_gen *g, LLVMValueRef p, bool aligned)
{
    LLVMValueRef vp = LLVMBuildBitCast(g->b, p, g->vtp, "");
    LLVMValueRef v = LLVMBuildLoad2(g->b, g->vt, vp, "");
    LLVMSetAlignment(v, (unsigned)(aligned ? g->bl.vl * g->bl.esize : g->bl.esize));
    return v;
}

static inline void store_vec(mt_gemm_gen *g, LLVMValueRef v, LLVMValueRef p, bool aligned)
{
    LLVMValueRef vp = LLVMBuildBitCast(g->b, p, g->vtp, "");
    LLVMSetAlignment(LLVMBuildStore(g->b, v, vp),
                     (unsigned)(aligned ? g->bl.vl * g->bl.esize : g->bl.esize));
}

static inline LLVMValueRef add(mt_gemm_gen *g, LLVMValueRef a, LLVMValueRef b)
{
    return LLVMBuildAdd(g->b, a, b, "");
}
static inline LLVMValueRef mul(mt_gemm_gen *g, LLVMValueRef a, LLVMValueRef b)
{
    return LLVMBuildMul(g->b, a, b, "");
}
static inline LLVMValueRef sub(mt_gemm_gen *g, LLVMValueRef a, LLVMValueRef b)
{
    return LLVMBuildSub(g->b, a, b, "");
}

static inline LLVMValueRef min_v(mt_gemm_gen *g, LLVMValueRef a, LLVMValueRef b)
{
    return LLVMBuildSelect(g->b, LLVMBuildICmp(g->b, LLVMIntSLT, a, b, ""), a, b, "");
}

static inline LLVMValueRef max_v(mt_gemm_gen *g, LLVMValueRef a, LLVMValueRef b)
{
    return LLVMBuildSelect(g->b, LLVMBuildICmp(g->b, LLVMIntSGT, a, b, ""), a, b, "");
}

/* A counted loop `for (iv = lo; iv < hi; iv += step)` over an alloca that mem2reg (part of
 * the optimiser) turns into a phi. `hi` must be computed before the loop opens. */
typedef struct mt_gemm_loop {
    LLVMValueRef slot, iv;
    LLVMBasicBlockRef cond, exit;
    int64_t step;
} mt_gemm_loop;

static inline LLVMValueRef loop_open(mt_gemm_gen *g, mt_gemm_loop *l, LLVMValueRef lo,
                                     LLVMValueRef hi, int64_t step, const char *name)
{
    l->slot = var(g, g->i64, name);
    l->step = step;
    LLVMBuildStore(g->b, lo, l->slot);
    l->cond = block(g, name);
    LLVMBasicBlockRef body = block(g, "body");
    l->exit = block(g, "exit");
    LLVMBuildBr(g->b, l->cond);
    LLVMPositionBuilderAtEnd(g->b, l->cond);
    l->iv = LLVMBuildLoad2(g->b, g->i64, l->slot, name);
    LLVMBuildCondBr(g->b, LLVMBuildICmp(g->b, LLVMIntSLT, l->iv, hi, ""), body, l->exit);
    LLVMPositionBuilderAtEnd(g->b, body);
    return l->iv;
}

static inline void loop_close(mt_gemm_gen *g, mt_gemm_loop *l)
{
    LLVMBuildStore(g->b, add(g, l->iv, c64(g, l->step)), l->slot);
    LLVMBuildBr(g->b, l->cond);
    LLVMPositionBuilderAtEnd(g->b, l->exit);
}

static inline void add_fn_attr(mt_gemm_gen *g, LLVMValueRef fn, const char *name)
{
    unsigned kind = LLVMGetEnumAttributeKindForName(name, strlen(name));
    LLVMAddAttributeAtIndex(fn, LLVMAttributeFunctionIndex,
                            LLVMCreateEnumAttribute(g->ctx, kind, 0));
}

static inline void add_param_attr(mt_gemm_gen *g, LLVMValueRef fn, unsigned param, const char *name)
{
    unsigned kind = LLVMGetEnumAttributeKindForName(name, strlen(name));
    LLVMAddAttributeAtIndex(fn, param + 1, LLVMCreateEnumAttribute(g->ctx, kind, 0));
}

static inline void add_string_attr(mt_gemm_gen *g, LLVMValueRef fn, const char *key,
                                   const char *value)
{
    LLVMAddAttributeAtIndex(fn, LLVMAttributeFunctionIndex,
                            LLVMCreateStringAttribute(g->ctx, key, (unsigned)strlen(key), value,
                                                      (unsigned)strlen(value)));
}

/* x in every lane of a vector. */
static inline LLVMValueRef splat(mt_gemm_gen *g, LLVMValueRef x)
{
    LLVMValueRef undef = LLVMGetUndef(g->vt);
    LLVMValueRef v = LLVMBuildInsertElement(g->b, undef, x, LLVMConstInt(g->i32, 0, 0), "");
    LLVMValueRef mask = LLVMConstNull(LLVMVectorType(g->i32, (unsigned)g->bl.vl));
    return LLVMBuildShuffleVector(g->b, v, undef, mask, "");
}

/* acc + a * b, fused where the ISA has FMA. Either way one fixed operation per k, which the
 * optimizer may not reassociate (no fast-math flags are ever set). */
static inline LLVMValueRef madd(mt_gemm_gen *g, LLVMValueRef a, LLVMValueRef b, LLVMValueRef acc)
{
    if (g->bl.fma) {
        LLVMValueRef args[3] = {a, b, acc};
        return LLVMBuildCall2(g->b, g->fma_ty, g->fma, args, 3, "");
    }
    return LLVMBuildFAdd(g->b, LLVMBuildFMul(g->b, a, b, ""), acc, "");
}

/* What the micro-kernel does with its tile (its i32 `mode` argument). */
enum { MT_GEMM_SET = 0, MT_GEMM_ADD = 1, MT_GEMM_RAW = 2 };

/* gemm_kernel.c. The bodies of the micro-kernel and packing pieces (gemm.c adds the functions):
 *   void kernel(i64 kc, T *ap, T *bp, T *c, i64 ldc, i32 mode, W *w)
 *   void pack_a(T *A, i64 lda, T *ap, i64 ic, i64 mc, i64 pc, i64 kc)
 *       the mc x kc block of A at (ic, pc) into ap
 *   void pack_b(T *B, i64 ldb, T *bp, i64 jc, i64 nc, i64 pc, i64 kc)
 *       the kc x nc block of B at (pc, jc) into bp */
void mt_gemm_emit_microkernel(mt_gemm_gen *g, LLVMValueRef fn);
/* gemm_small.c. Rows [m0, m1) of one product without packing (few rows: batch-1 inference,
 * a convolution's product per image), A and B read where they lie (a transposed B packed
 * first by the driver); each element of C gets exactly the operations the packed path gives
 * it, so the two paths agree bit for bit. bl.sub must be 0. */
typedef struct mt_gemm_small {
    LLVMValueRef A, B, C, m0, m1, N, K, lda, ldb, ldc;
    LLVMValueRef acc;     /* i64: non-zero to add into C */
    LLVMValueRef trans_a; /* i1: A is stored K x M */
    LLVMValueRef pstride; /* i64: B's element (k, j) is at (j / NR) * pstride + k * ldb + j % NR:
                             NR for B read in place, NR * K for B packed into NR-column panels */
} mt_gemm_small;
void mt_gemm_emit_small_rows(mt_gemm_gen *g, const mt_gemm_small *s);
void mt_gemm_emit_pack_a(mt_gemm_gen *g, LLVMValueRef fn);
void mt_gemm_emit_pack_b(mt_gemm_gen *g, LLVMValueRef fn);

#endif
