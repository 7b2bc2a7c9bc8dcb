/* jit.c - compiling an optimised module in memory with ORC LLJIT.
 *
 * One LLJIT per compiled program: it owns the machine code, which lives until
 * mt_llvm_jit_free. Symbols the kernels call but do not define (libm's expf, tanh; memset
 * from loop idioms) resolve against the running process.
 */
#include <llvm-c/Error.h>
#include <llvm-c/LLJIT.h>
#include <llvm-c/Orc.h>
#include <stdint.h>
#include <string.h>

#include "codegen/llvm/llvm.h"
#include "ir/alloc.h"

struct mt_llvm_jit {
    LLVMOrcLLJITRef jit;
};

void mt_llvm_jit_free(mt_llvm_jit *j)
{
    if (!j)
        return;
    if (j->jit) {
        LLVMErrorRef err = LLVMOrcDisposeLLJIT(j->jit);
        if (err)
            LLVMConsumeError(err);
    }
    mt_free(j);
}

static mt_status fail(mt_diag *d, const char *what, LLVMErrorRef err)
{
    return mt_llvm_fail_error(d, what, err);
}

mt_status mt_llvm_jit_new(mt_llvm_module *m, mt_llvm_jit **out, mt_diag *d)
{
    *out = NULL;
    mt_llvm_init();
    mt_llvm_jit *j = mt_calloc(1, sizeof *j);
    if (!j) {
        mt_llvm_module_free(m);
        return mt_diag_set(d, MT_ERR_NOMEM, "llvm: out of memory");
    }
    LLVMOrcJITTargetMachineBuilderRef jtmb;
    LLVMErrorRef err = LLVMOrcJITTargetMachineBuilderDetectHost(&jtmb);
    if (err) {
        mt_llvm_module_free(m);
        mt_free(j);
        return fail(d, "cannot describe the host", err);
    }
    LLVMOrcLLJITBuilderRef builder = LLVMOrcCreateLLJITBuilder();
    LLVMOrcLLJITBuilderSetJITTargetMachineBuilder(builder, jtmb);
    err = LLVMOrcCreateLLJIT(&j->jit, builder); /* takes the builder */
    if (err) {
        mt_llvm_module_free(m);
        mt_free(j);
        return fail(d, "cannot create the JIT", err);
    }
    LLVMOrcJITDylibRef main = LLVMOrcLLJITGetMainJITDylib(j->jit);
    LLVMOrcDefinitionGeneratorRef gen;
    err = LLVMOrcCreateDynamicLibrarySearchGeneratorForProcess(
        &gen, LLVMOrcLLJITGetGlobalPrefix(j->jit), NULL, NULL);
    if (err) {
        mt_llvm_module_free(m);
        mt_llvm_jit_free(j);
        return fail(d, "cannot search the process for symbols", err);
    }
    LLVMOrcJITDylibAddGenerator(main, gen);
    /* The JIT takes the module; the thread-safe context lives on in it. */
    LLVMOrcThreadSafeModuleRef tsm = LLVMOrcCreateNewThreadSafeModule(m->mod, m->tsc);
    LLVMOrcDisposeThreadSafeContext(m->tsc);
    m->mod = NULL;
    m->tsc = NULL;
    mt_llvm_module_free(m);
    err = LLVMOrcLLJITAddLLVMIRModule(j->jit, main, tsm);
    if (err) {
        LLVMOrcDisposeThreadSafeModule(tsm);
        mt_llvm_jit_free(j);
        return fail(d, "cannot add the module", err);
    }
    *out = j;
    return MT_OK;
}

mt_kernel_fn mt_llvm_jit_lookup(mt_llvm_jit *j, const char *name, mt_diag *d)
{
    LLVMOrcExecutorAddress addr = 0;
    LLVMErrorRef err = LLVMOrcLLJITLookup(j->jit, &addr, name);
    if (err) {
        fail(d, "cannot find a kernel", err);
        return NULL;
    }
    /* The JIT hands out integer addresses; this is the one place they become functions. */
    mt_kernel_fn fn;
    _Static_assert(sizeof fn == sizeof(void *), "function and data pointers have one size");
    void *p = (void *)(uintptr_t)addr;
    memcpy(&fn, &p, sizeof fn);
    return fn;
}
