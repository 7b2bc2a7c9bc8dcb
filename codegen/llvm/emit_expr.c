/* emit_expr.c - kernel IR expressions -> LLVM values (emit.c has statements and functions).
 *
 * One scalar operation at a time: integer and float arithmetic, comparisons (ordered on floats
 * except !=), selects, casts, loads, and the float functions kops.def names: sqrt and fabs as
 * LLVM intrinsics, exp, log, tanh, pow (and sigmoid) as inline code from vmath.c (no libm call, so
 * the loop vectorizer widens them). A statement's expression DAG is memoized so that a shared node
 * is emitted once.
 */
#include <stdio.h>
#include <string.h>

#include "codegen/llvm/emit_internal.h"
#include "codegen/llvm/vmath.h"

LLVMTypeRef mt_emit_ltype(const emitter *e, mt_ktype t)
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

void mt_emit_add_attr(emitter *e, LLVMValueRef fn, LLVMAttributeIndex at, const char *name)
{
    unsigned kind = LLVMGetEnumAttributeKindForName(name, strlen(name));
    LLVMAddAttributeAtIndex(fn, at, LLVMCreateEnumAttribute(e->C, kind, 0));
}

/* Does the target fuse multiply-adds? x86-64 says so in its features; AArch64 always does. */
static int target_fma(const emitter *e)
{
    return strstr(e->target->features, "+fma") || !strncmp(e->target->triple, "aarch64", 7);
}

/* A float function of one or two operands of type t. exp, log, tanh and pow are inline code
 * (vmath.c), which the loop vectorizer widens; a libm call would stay one scalar call per
 * element. sqrt and fabs are LLVM intrinsics, single instructions on every target. */
static LLVMValueRef call_math(emitter *e, const char *base, mt_ktype t, LLVMValueRef a,
                              LLVMValueRef b)
{
    mt_vmath m = {e->B, e->M, target_fma(e)};
    if (!strcmp(base, "exp"))
        return mt_vmath_exp(&m, a);
    if (!strcmp(base, "log"))
        return mt_vmath_log(&m, a);
    if (!strcmp(base, "tanh"))
        return mt_vmath_tanh(&m, a);
    if (!strcmp(base, "pow"))
        return mt_vmath_pow(&m, a, b);
    char name[64];
    snprintf(name, sizeof name, "llvm.%s.%s", base, t == MT_KT_F32 ? "f32" : "f64");
    LLVMTypeRef ty = mt_emit_ltype(e, t);
    LLVMTypeRef args_t[2] = {ty, ty};
    LLVMTypeRef ft = LLVMFunctionType(ty, args_t, b ? 2 : 1, 0);
    LLVMValueRef fn = LLVMGetNamedFunction(e->M, name);
    if (!fn)
        fn = LLVMAddFunction(e->M, name, ft);
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

void mt_emit_memo_clear(emitter *e)
{
    memset(e->memo, 0, sizeof e->memo);
    e->nmemo = 0;
}

static LLVMValueRef cast(emitter *e, LLVMValueRef v, mt_ktype from, mt_ktype to)
{
    LLVMTypeRef t = mt_emit_ltype(e, to);
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
    case MT_KX_POW: return call_math(e, mt_kop_get(x->op)->math, t, a, b);
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
            return LLVMConstReal(mt_emit_ltype(e, x->type), x->c.f);
        return LLVMConstInt(mt_emit_ltype(e, x->type), (unsigned long long)x->c.i,
                            x->type == MT_KT_I64);
    case MT_KX_VAR: return e->loopval[x->id];
    case MT_KX_SCALAR: return LLVMBuildLoad2(B, mt_emit_ltype(e, x->type), e->scalar[x->id], "");
    case MT_KX_LOAD: {
        LLVMTypeRef t = mt_emit_ltype(e, x->type);
        LLVMValueRef idx = mt_emit_expr(e, x->args[0]);
        LLVMValueRef at = LLVMBuildGEP2(B, t, e->bufptr[x->id], &idx, 1, "");
        LLVMValueRef v = LLVMBuildLoad2(B, t, at, "");
        LLVMSetAlignment(v, x->type == MT_KT_F64 ? 8 : 4);
        return v;
    }
    case MT_KX_CAST: return cast(e, mt_emit_expr(e, x->args[0]), x->args[0]->type, x->type);
    case MT_KX_SELECT:
        return LLVMBuildSelect(B, mt_emit_expr(e, x->args[0]), mt_emit_expr(e, x->args[1]),
                               mt_emit_expr(e, x->args[2]), "");
    default: break;
    }
    LLVMValueRef a = mt_emit_expr(e, x->args[0]);
    if (x->nargs == 2)
        return binary(e, x, a, mt_emit_expr(e, x->args[1]));
    /* Float functions are libm's (or LLVM's intrinsics of the same name): kops.def names them. */
    const char *math = mt_kop_get(x->op)->math;
    if (math)
        return call_math(e, math, x->type, a, NULL);
    switch (x->op) {
    case MT_KX_SIGMOID: {
        mt_vmath m = {e->B, e->M, target_fma(e)};
        return mt_vmath_sigmoid(&m, a);
    }
    case MT_KX_NEG: return is_float(x->type) ? LLVMBuildFNeg(B, a, "") : LLVMBuildNeg(B, a, "");
    case MT_KX_NOT: return LLVMBuildNot(B, a, "");
    default: return a; /* unreachable: every operation is handled above */
    }
}

LLVMValueRef mt_emit_expr(emitter *e, const mt_kexpr *x)
{
    LLVMValueRef v = memo_get(e, x);
    if (v)
        return v;
    v = expr_uncached(e, x);
    memo_put(e, x, v);
    return v;
}
