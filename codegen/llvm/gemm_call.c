/* gemm_call.c - calls of the GEMM (gemm.h): a call of a product's driver at a builder's
 * position, and the two entry points that wrap one call in a function of its own (a plain
 * C-callable GEMM, and a kernel over a buffer table as the CPU backend's executor calls it).
 * gemm.c has the design and the driver.
 */
#include "codegen/llvm/gemm.h"

#include <llvm-c/Core.h>

/* ---- calls and entry points ------------------------------------------------------------ */

mt_status mt_llvm_gemm_build_call(LLVMModuleRef mod, LLVMBuilderRef b, const mt_llvm_gemm_desc *d,
                                  LLVMValueRef A, LLVMValueRef B, LLVMValueRef C,
                                  LLVMValueRef m_begin, LLVMValueRef m_end, LLVMValueRef scratch,
                                  bool define, mt_diag *diag)
{
    mt_llvm_gemm_piece pieces[MT_LLVM_GEMM_PIECES];
    mt_status st = mt_llvm_gemm_pieces(d, pieces, diag);
    if (st != MT_OK)
        return st;
    LLVMValueRef fns[MT_LLVM_GEMM_PIECES];
    for (int i = MT_LLVM_GEMM_PIECES - 1; i >= 0; i--)
        fns[i] = mt_llvm_gemm_piece_function(mod, &pieces[i], define);
    LLVMValueRef driver = fns[0];

    LLVMContextRef ctx = LLVMGetModuleContext(mod);
    LLVMTypeRef i64 = LLVMInt64TypeInContext(ctx);
    int64_t words[MT_LLVM_GEMM_DESC_WORDS];
    mt_llvm_gemm_desc_words(d, words);
    LLVMValueRef vals[MT_LLVM_GEMM_DESC_WORDS];
    for (int i = 0; i < MT_LLVM_GEMM_DESC_WORDS; i++)
        vals[i] = LLVMConstInt(i64, (unsigned long long)words[i], 1);
    LLVMValueRef init = LLVMConstArray(i64, vals, MT_LLVM_GEMM_DESC_WORDS);
    LLVMValueRef desc = LLVMAddGlobal(mod, LLVMTypeOf(init), "mtc.gemm.desc");
    LLVMSetInitializer(desc, init);
    LLVMSetGlobalConstant(desc, 1);
    LLVMSetLinkage(desc, LLVMPrivateLinkage);
    LLVMSetUnnamedAddress(desc, LLVMGlobalUnnamedAddr);
    LLVMSetAlignment(desc, 8);

    LLVMTypeRef fty = LLVMGlobalGetValueType(driver);
    LLVMTypeRef params[9];
    LLVMGetParamTypes(fty, params);
    LLVMValueRef zero = LLVMConstInt(i64, 0, 0);
    LLVMValueRef idx[2] = {zero, zero};
    LLVMValueRef args[9] = {LLVMBuildBitCast(b, A, params[0], ""),
                            LLVMBuildBitCast(b, B, params[1], ""),
                            LLVMBuildBitCast(b, C, params[2], ""),
                            m_begin,
                            m_end,
                            scratch ? LLVMBuildBitCast(b, scratch, params[5], "")
                                    : LLVMConstNull(params[5]),
                            LLVMConstInBoundsGEP2(LLVMTypeOf(init), desc, idx, 2),
                            fns[2],
                            fns[3]};
    LLVMBuildCall2(b, fty, driver, args, 9, "");
    return MT_OK;
}

mt_status mt_llvm_gemm_emit(LLVMModuleRef mod, const char *name, const mt_llvm_gemm_desc *d,
                            LLVMValueRef *out, mt_diag *diag)
{
    if (out)
        *out = NULL;
    if (!mod || !name || !d)
        return mt_diag_set(diag, MT_ERR_ARG, "gemm: NULL module, name or descriptor");
    mt_llvm_gemm_piece check[MT_LLVM_GEMM_PIECES]; /* validates d */
    mt_status st = mt_llvm_gemm_pieces(d, check, diag);
    if (st != MT_OK)
        return st;
    if (LLVMGetNamedFunction(mod, name))
        return mt_diag_set(diag, MT_ERR_ARG, "gemm: function %s already in the module", name);

    LLVMContextRef ctx = LLVMGetModuleContext(mod);
    LLVMTypeRef t =
        d->dtype == MT_DTYPE_F64 ? LLVMDoubleTypeInContext(ctx) : LLVMFloatTypeInContext(ctx);
    LLVMTypeRef tp = LLVMPointerType(t, 0), i64 = LLVMInt64TypeInContext(ctx);
    LLVMTypeRef i8p = LLVMPointerType(LLVMInt8TypeInContext(ctx), 0);
    LLVMTypeRef params[6] = {tp, tp, tp, i64, i64, i8p};
    LLVMValueRef fn =
        LLVMAddFunction(mod, name, LLVMFunctionType(LLVMVoidTypeInContext(ctx), params, 6, 0));
    unsigned nounwind = LLVMGetEnumAttributeKindForName("nounwind", 8);
    LLVMAddAttributeAtIndex(fn, LLVMAttributeFunctionIndex,
                            LLVMCreateEnumAttribute(ctx, nounwind, 0));
    LLVMBuilderRef b = LLVMCreateBuilderInContext(ctx);
    LLVMPositionBuilderAtEnd(b, LLVMAppendBasicBlockInContext(ctx, fn, "entry"));
    st = mt_llvm_gemm_build_call(mod, b, d, LLVMGetParam(fn, 0), LLVMGetParam(fn, 1),
                                 LLVMGetParam(fn, 2), LLVMGetParam(fn, 3), LLVMGetParam(fn, 4),
                                 LLVMGetParam(fn, 5), true, diag);
    LLVMBuildRetVoid(b);
    LLVMDisposeBuilder(b);
    if (out)
        *out = fn;
    return st;
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
    mt_llvm_gemm_piece check[MT_LLVM_GEMM_PIECES]; /* validates d */
    mt_status st = mt_llvm_gemm_pieces(d, check, diag);
    if (st != MT_OK)
        return st;
    if (LLVMGetNamedFunction(mod, name))
        return mt_diag_set(diag, MT_ERR_ARG, "gemm: function %s already in the module", name);

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
    LLVMValueRef ptrs[3];
    const int ids[3] = {a, b, c};
    for (int i = 0; i < 3; i++) {
        LLVMValueRef idx = LLVMConstInt(i64, (unsigned long long)ids[i], 0);
        LLVMValueRef slot = LLVMBuildGEP2(bld, i8p, LLVMGetParam(fn, 0), &idx, 1, "");
        ptrs[i] = LLVMBuildLoad2(bld, i8p, slot, "");
        LLVMSetAlignment(ptrs[i], 8);
    }
    /* The panels go on the calling thread's stack. */
    st = mt_llvm_gemm_build_call(mod, bld, d, ptrs[0], ptrs[1], ptrs[2], LLVMGetParam(fn, 1),
                                 LLVMGetParam(fn, 2), NULL, true, diag);
    LLVMBuildRetVoid(bld);
    LLVMDisposeBuilder(bld);
    if (out)
        *out = fn;
    return st;
}
