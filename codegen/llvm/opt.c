/* opt.c - the host target machine, the O3 pipeline and object code generation.
 *
 * Kernels are optimised for the machine that runs them: the host's triple, CPU name and
 * feature string (AVX2 and FMA on the development machines), so the loop vectorizer picks the
 * host's vector width. The same settings go into every function's attributes (emit.c) and
 * into the JIT (jit.c), so what `mtc dump --stage llvm` prints is what runs.
 *
 * Loop unrolling is off: with every trip count a constant, O3 fully unrolled whole loop nests
 * into straight-line blocks of thousands of instructions, and the machine scheduler is
 * quadratic in block size (a 4-d elementwise kernel took 1.8 s to compile; 0.08 s without).
 * The loop vectorizer still interleaves vector iterations, which is where the speed comes
 * from; a kernel that wants a loop unrolled can ask with llvm.loop.unroll metadata.
 *
 * Code generation emits an ELF object into memory (mt_llvm_emit_object) with the same target
 * machine; the JIT links that object (jit.c), and the kernel cache (cache.c) stores it, so a
 * cache hit skips both optimisation and code generation. A target machine builds its
 * subtarget (instruction tables, lowering rules) on first use, about 1.5 ms per module on the
 * development machines, so the compile path (compile.c) reuses one per thread through the
 * _with variants.
 */
#include <llvm-c/Error.h>
#include <llvm-c/Target.h>
#include <llvm-c/Transforms/PassBuilder.h>
#include <pthread.h>
#include <string.h>

#include "codegen/llvm/llvm.h"
#include "ir/alloc.h"

static pthread_once_t init_once = PTHREAD_ONCE_INIT;

static void init_native(void)
{
    LLVMInitializeNativeTarget();
    LLVMInitializeNativeAsmPrinter();
}

void mt_llvm_init(void) { pthread_once(&init_once, init_native); }

mt_status mt_llvm_fail(mt_diag *d, const char *what, const char *msg)
{
    const char *text = msg ? msg : "no message";
    size_t line = strcspn(text, "\n");
    int first = d && d->status == MT_OK;
    mt_status st = mt_diag_set(d, MT_ERR_BACKEND, "llvm: %s: %.*s", what, (int)line, text);
    if (first && !d->log && msg)
        d->log = mt_strdup(msg);
    return st;
}

mt_status mt_llvm_fail_error(mt_diag *d, const char *what, LLVMErrorRef err)
{
    char *msg = LLVMGetErrorMessage(err);
    mt_status st = mt_llvm_fail(d, what, msg);
    LLVMDisposeErrorMessage(msg);
    return st;
}

mt_status mt_llvm_host_machine(LLVMTargetMachineRef *out, mt_diag *d)
{
    *out = NULL;
    mt_llvm_init();
    char *triple = LLVMGetDefaultTargetTriple();
    char *err = NULL;
    LLVMTargetRef target;
    if (LLVMGetTargetFromTriple(triple, &target, &err)) {
        mt_status st = mt_llvm_fail(d, "no target for the host", err);
        LLVMDisposeMessage(triple);
        LLVMDisposeMessage(err);
        return st;
    }
    char *cpu = LLVMGetHostCPUName(), *features = LLVMGetHostCPUFeatures();
    *out = LLVMCreateTargetMachine(target, triple, cpu, features, LLVMCodeGenLevelAggressive,
                                   LLVMRelocPIC, LLVMCodeModelDefault);
    LLVMDisposeMessage(triple);
    LLVMDisposeMessage(cpu);
    LLVMDisposeMessage(features);
    if (!*out)
        return mt_llvm_fail(d, "cannot create a target machine for the host", NULL);
    return MT_OK;
}

const char *mt_llvm_pipeline_description(void)
{
    /* Keep in step with mt_llvm_optimize, mt_llvm_host_machine and mt_llvm_emit_object. */
    return "default<O3> loop-vectorize slp-vectorize interleave no-unroll; codegen O3 pic "
           "default-code-model elf-object";
}

/* The module is compiled for tm: its triple and data layout. */
static void set_target(mt_llvm_module *m, LLVMTargetMachineRef tm)
{
    char *triple = LLVMGetTargetMachineTriple(tm);
    LLVMSetTarget(m->mod, triple);
    LLVMDisposeMessage(triple);
    LLVMTargetDataRef layout = LLVMCreateTargetDataLayout(tm);
    char *dl = LLVMCopyStringRepOfTargetData(layout);
    LLVMSetDataLayout(m->mod, dl);
    LLVMDisposeMessage(dl);
    LLVMDisposeTargetData(layout);
}

mt_status mt_llvm_optimize_with(mt_llvm_module *m, LLVMTargetMachineRef tm, mt_diag *d)
{
    set_target(m, tm);
    LLVMPassBuilderOptionsRef opts = LLVMCreatePassBuilderOptions();
    LLVMPassBuilderOptionsSetLoopVectorization(opts, 1);
    LLVMPassBuilderOptionsSetSLPVectorization(opts, 1);
    LLVMPassBuilderOptionsSetLoopUnrolling(opts, 0);
    LLVMPassBuilderOptionsSetLoopInterleaving(opts, 1);
    LLVMErrorRef err = LLVMRunPasses(m->mod, "default<O3>", tm, opts);
    LLVMDisposePassBuilderOptions(opts);
    if (err)
        return mt_llvm_fail_error(d, "optimisation failed", err);
    return MT_OK;
}

mt_status mt_llvm_emit_object_with(mt_llvm_module *m, LLVMTargetMachineRef tm,
                                   LLVMMemoryBufferRef *out, mt_diag *d)
{
    *out = NULL;
    set_target(m, tm);
    char *err = NULL;
    if (LLVMTargetMachineEmitToMemoryBuffer(tm, m->mod, LLVMObjectFile, &err, out)) {
        mt_status st = mt_llvm_fail(d, "cannot emit an object file", err);
        LLVMDisposeMessage(err);
        *out = NULL;
        return st;
    }
    return MT_OK;
}

mt_status mt_llvm_optimize(mt_llvm_module *m, mt_diag *d)
{
    LLVMTargetMachineRef tm;
    mt_status st = mt_llvm_host_machine(&tm, d);
    if (st == MT_OK) {
        st = mt_llvm_optimize_with(m, tm, d);
        LLVMDisposeTargetMachine(tm);
    }
    return st;
}

mt_status mt_llvm_emit_object(mt_llvm_module *m, LLVMMemoryBufferRef *out, mt_diag *d)
{
    *out = NULL;
    LLVMTargetMachineRef tm;
    mt_status st = mt_llvm_host_machine(&tm, d);
    if (st == MT_OK) {
        st = mt_llvm_emit_object_with(m, tm, out, d);
        LLVMDisposeTargetMachine(tm);
    }
    return st;
}
