/* vmath.h - exp, log, tanh, sigmoid and pow as inline LLVM IR (vmath.c), so that the loop
 * vectorizer widens them like any other arithmetic instead of leaving one scalar libm call per
 * element.
 *
 * Each function emits, at the builder's position, straight-line code (no branches, no calls
 * except llvm.fma and llvm.fabs) over x's type: float or double, or a vector of either. The
 * same instructions run in every lane and in the scalar remainder loop, so an element's result
 * depends only on its inputs, never on where it sits or which thread computes it. Errors,
 * measured over every f32 input and sampled for f64, are in docs/vmath.md.
 */
#ifndef MT_CODEGEN_LLVM_VMATH_H
#define MT_CODEGEN_LLVM_VMATH_H

#include <llvm-c/Core.h>

typedef struct mt_vmath {
    LLVMBuilderRef B;
    LLVMModuleRef M; /* where llvm.fma and llvm.fabs are declared */
    int fma;         /* the target has fused multiply-add: use llvm.fma, else fmul + fadd */
} mt_vmath;

/* e^x, ln x, tanh x and a^b of values of one float type (scalar or vector), with the special
 * values of C99's exp, log, tanh and pow. */
LLVMValueRef mt_vmath_exp(const mt_vmath *m, LLVMValueRef x);
LLVMValueRef mt_vmath_log(const mt_vmath *m, LLVMValueRef x);
LLVMValueRef mt_vmath_tanh(const mt_vmath *m, LLVMValueRef x);
/* 1 / (1 + e^-x), without overflow for any x. */
LLVMValueRef mt_vmath_sigmoid(const mt_vmath *m, LLVMValueRef x);
LLVMValueRef mt_vmath_pow(const mt_vmath *m, LLVMValueRef a, LLVMValueRef b);

#endif
