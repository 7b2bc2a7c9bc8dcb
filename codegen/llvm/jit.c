/* jit.c - linking compiled kernels in memory with ORC LLJIT.
 *
 * The JIT is given object files, not IR: code generation happens once, in opt.c, with the
 * target machine the optimiser used, and the same bytes can come back from the kernel cache
 * (cache.c) in a later process without LLVM optimising or generating anything.
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

mt_status mt_llvm_jit_create(mt_llvm_jit **out, mt_diag *d)
{
    *out = NULL;
    mt_llvm_init();
    mt_llvm_jit *j = mt_calloc(1, sizeof *j);
    if (!j)
        return mt_diag_set(d, MT_ERR_NOMEM, "llvm: out of memory");
    /* The host machine of opt.c (DetectHost would ask the CPU for its features again). */
    LLVMTargetMachineRef tm;
    mt_status st = mt_llvm_host_machine(&tm, d);
    if (st != MT_OK) {
        mt_free(j);
        return st;
    }
    LLVMOrcJITTargetMachineBuilderRef jtmb =
        LLVMOrcJITTargetMachineBuilderCreateFromTargetMachine(tm); /* takes tm */
    LLVMOrcLLJITBuilderRef builder = LLVMOrcCreateLLJITBuilder();
    LLVMOrcLLJITBuilderSetJITTargetMachineBuilder(builder, jtmb);
    LLVMErrorRef err = LLVMOrcCreateLLJIT(&j->jit, builder); /* takes the builder */
    if (err) {
        mt_free(j);
        return fail(d, "cannot create the JIT", err);
    }
    LLVMOrcDefinitionGeneratorRef gen;
    err = LLVMOrcCreateDynamicLibrarySearchGeneratorForProcess(
        &gen, LLVMOrcLLJITGetGlobalPrefix(j->jit), NULL, NULL);
    if (err) {
        mt_llvm_jit_free(j);
        return fail(d, "cannot search the process for symbols", err);
    }
    LLVMOrcJITDylibAddGenerator(LLVMOrcLLJITGetMainJITDylib(j->jit), gen);
    *out = j;
    return MT_OK;
}

mt_status mt_llvm_jit_add_object(mt_llvm_jit *j, LLVMMemoryBufferRef obj, mt_diag *d)
{
    /* Linking happens at the first lookup; a malformed object fails there. */
    LLVMErrorRef err =
        LLVMOrcLLJITAddObjectFile(j->jit, LLVMOrcLLJITGetMainJITDylib(j->jit), obj); /* takes obj */
    return err ? fail(d, "cannot add an object file", err) : MT_OK;
}

mt_status mt_llvm_jit_new(mt_llvm_module *m, mt_llvm_jit **out, mt_diag *d)
{
    *out = NULL;
    LLVMMemoryBufferRef obj;
    mt_status st = mt_llvm_emit_object(m, &obj, d);
    mt_llvm_module_free(m);
    if (st != MT_OK)
        return st;
    mt_llvm_jit *j;
    if ((st = mt_llvm_jit_create(&j, d)) != MT_OK) {
        LLVMDisposeMemoryBuffer(obj);
        return st;
    }
    if ((st = mt_llvm_jit_add_object(j, obj, d)) != MT_OK) {
        mt_llvm_jit_free(j);
        return st;
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
