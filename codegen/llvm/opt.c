/* opt.c - the host target machine, the optimisation pipelines and object code generation.
 *
 * Kernels are optimised with KERNEL_PASSES, the part of default<O3> that does something for
 * the loop nests emit.c generates (O3 itself took twice as long for the same code). Kernels
 * are optimised for the machine that runs them: the host's triple, CPU name and
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
 * GEMM functions (the pieces of gemm.c, marked with the attribute "mtc-gemm") get a short
 * pipeline instead, GEMM_PASSES: their IR is blocked, unrolled and vectorised by hand, and all
 * it needs is its allocas promoted to registers and its arithmetic tidied. default<O3> spent
 * 30 to 50 ms per GEMM (it vectorised and unswitched the scalar edge loops, which only made
 * the code bigger) without changing the micro-kernel's inner loop.
 *
 * Small kernels (at most MT_LLVM_SMALL_WORK iterations a run, marked MT_LLVM_SMALL_ATTR by
 * emit.c) get SMALL_PASSES, and code generation selects their instructions the fast way (they
 * are marked optnone for it): the gradient of a 1,000-op chain is ~900 kernels of 4 elements,
 * and the full pipelines spent ~30 ms of CPU on each (docs/scaling.md). A module holding
 * several kinds (mtc dump --stage llvm, the GEMM benchmark, most programs) gets each its own
 * pipeline: the other kinds are marked optnone for the run, which the pass manager skips.
 *
 * After the kernels' pipeline, the vector stores of streaming loops (emit.c: emit_nt_loop)
 * that LLVM has proved aligned to their size are marked !nontemporal (mark_streaming_stores).
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
#include "codegen/llvm/target.h"
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

mt_status mt_llvm_target_machine(const mt_cpu_target *t, LLVMTargetMachineRef *out, mt_diag *d)
{
    *out = NULL;
    mt_llvm_init();
    char *err = NULL;
    LLVMTargetRef target;
    if (LLVMGetTargetFromTriple(t->triple, &target, &err)) {
        mt_status st = mt_llvm_fail(d, "no target for the triple", err);
        LLVMDisposeMessage(err);
        return st;
    }
    *out = LLVMCreateTargetMachine(target, t->triple, t->cpu, t->features,
                                   LLVMCodeGenLevelAggressive, LLVMRelocPIC, LLVMCodeModelDefault);
    if (!*out)
        return mt_llvm_fail(d, "cannot create a target machine", NULL);
    return MT_OK;
}

mt_status mt_llvm_host_machine(LLVMTargetMachineRef *out, mt_diag *d)
{
    mt_llvm_init();
    return mt_llvm_target_machine(mt_cpu_target_host(), out, d);
}

/* The kernels' pipeline: the passes of default<O3> that change the code emit.c generates
 * (measured on the MLP training step of bench/jit_latency.c, the lit tests and a set of larger
 * graphs: softmax, a norm, a bias with tanh, a column sum, a transpose, a conv, dropout, pad
 * and concat), in O3's order. It runs in under half of O3's time, and the machine code of
 * every kernel tried was the same or within a few instructions, with the same run time: what
 * the rest of O3 does (inlining cost models over a real call graph, jump threading, GVN-PRE,
 * loop unswitching, ...) finds nothing to do in loop nests that are already in the form those
 * passes produce. The loop vectorizer is what matters, and it runs as in O3.
 *
 * Four more passes of that set were dropped later (the second sroa, loop-load-elim, and the
 * instcombine and simplifycfg between the two vectorizers): without them the object code of
 * every unit of the cold-JIT benchmark's MLP step, of each example program and of the
 * training steps of four of them (130 objects) was byte for byte the same, and the pipeline
 * took 12% fewer instructions. The instcombine after the SLP vectorizer tidies up after
 * both vectorizers. */
#define KERNEL_PASSES                                                                              \
    "function(sroa,early-cse,instcombine,simplifycfg),cgscc(inline),"                              \
    "function(early-cse<memssa>,instcombine,simplifycfg,loop-mssa(licm),"                          \
    "loop(loop-rotate,loop-idiom,indvars,loop-deletion),loop-vectorize,slp-vectorizer,"            \
    "instcombine,loop-mssa(licm))"
#define GEMM_PASSES "function(sroa,early-cse,instcombine,simplifycfg)"
/* Small kernels (MT_LLVM_SMALL_WORK): the body inlined into its entry point and tidied, no
 * loop passes, no vectorizers. */
#define SMALL_PASSES "cgscc(inline),function(sroa,early-cse,instcombine,simplifycfg)"

#define MT_LLVM_STR_(x) #x
#define MT_LLVM_STR(x) MT_LLVM_STR_(x)

const char *mt_llvm_pipeline_description(void)
{
    /* Keep in step with mt_llvm_optimize, mt_llvm_host_machine and mt_llvm_emit_object. */
    return "kernels " KERNEL_PASSES
           " loop-vectorize slp-vectorize interleave no-unroll; gemm " GEMM_PASSES
           "; small (work <= " MT_LLVM_STR(
               MT_LLVM_SMALL_WORK) ") " SMALL_PASSES
                                   " optnone-codegen; inline max " MT_LLVM_STR(
                                       MT_LLVM_INLINE_MAX_BUFS) " buffers"
                                                                "; codegen O3 pic "
                                                                "default-code-model elf-object";
}

/* The kinds of function a module holds, each with its own pipeline. */
enum { KIND_KERNEL = 1, KIND_GEMM = 2, KIND_SMALL = 4 };

static int kind_of(LLVMValueRef fn)
{
    if (LLVMGetStringAttributeAtIndex(fn, LLVMAttributeFunctionIndex, "mtc-gemm", 8))
        return KIND_GEMM;
    if (LLVMGetStringAttributeAtIndex(fn, LLVMAttributeFunctionIndex, MT_LLVM_SMALL_ATTR,
                                      (unsigned)strlen(MT_LLVM_SMALL_ATTR)))
        return KIND_SMALL;
    return KIND_KERNEL;
}

static void add_fn_attr(LLVMValueRef fn, const char *name)
{
    unsigned kind = LLVMGetEnumAttributeKindForName(name, strlen(name));
    LLVMAddAttributeAtIndex(
        fn, LLVMAttributeFunctionIndex,
        LLVMCreateEnumAttribute(LLVMGetModuleContext(LLVMGetGlobalParent(fn)), kind, 0));
}

static void remove_fn_attr(LLVMValueRef fn, const char *name)
{
    unsigned kind = LLVMGetEnumAttributeKindForName(name, strlen(name));
    LLVMRemoveEnumAttributeAtIndex(fn, LLVMAttributeFunctionIndex, kind);
}

static int has_fn_attr(LLVMValueRef fn, const char *name)
{
    unsigned kind = LLVMGetEnumAttributeKindForName(name, strlen(name));
    return LLVMGetEnumAttributeAtIndex(fn, LLVMAttributeFunctionIndex, kind) != NULL;
}

/* The kinds (KIND_* bits) of the module's defined functions. */
static int kinds(LLVMModuleRef mod)
{
    int k = 0;
    for (LLVMValueRef fn = LLVMGetFirstFunction(mod); fn; fn = LLVMGetNextFunction(fn))
        k |= LLVMIsDeclaration(fn) ? 0 : kind_of(fn);
    return k;
}

/* Marks the defined functions of the kinds in `mask` optnone, so that a pipeline run on the
 * module leaves them alone and code generation selects their instructions the fast way
 * (optnone requires noinline); `undo` takes the marks off again, restoring noinline only
 * where it was added. */
static void hold(LLVMModuleRef mod, int mask, int undo)
{
    for (LLVMValueRef fn = LLVMGetFirstFunction(mod); fn; fn = LLVMGetNextFunction(fn)) {
        if (LLVMIsDeclaration(fn) || !(kind_of(fn) & mask))
            continue;
        if (undo) {
            remove_fn_attr(fn, "optnone");
            if (LLVMGetStringAttributeAtIndex(fn, LLVMAttributeFunctionIndex, "mtc-held", 8)) {
                remove_fn_attr(fn, "noinline");
                LLVMRemoveStringAttributeAtIndex(fn, LLVMAttributeFunctionIndex, "mtc-held", 8);
            }
            continue;
        }
        if (!has_fn_attr(fn, "noinline")) {
            add_fn_attr(fn, "noinline");
            LLVMAddAttributeAtIndex(
                fn, LLVMAttributeFunctionIndex,
                LLVMCreateStringAttribute(LLVMGetModuleContext(mod), "mtc-held", 8, "1", 1));
        }
        add_fn_attr(fn, "optnone");
    }
}

static LLVMErrorRef run(LLVMModuleRef mod, const char *passes, LLVMTargetMachineRef tm)
{
    LLVMPassBuilderOptionsRef opts = LLVMCreatePassBuilderOptions();
    LLVMPassBuilderOptionsSetLoopVectorization(opts, 1);
    LLVMPassBuilderOptionsSetSLPVectorization(opts, 1);
    LLVMPassBuilderOptionsSetLoopUnrolling(opts, 0);
    LLVMPassBuilderOptionsSetLoopInterleaving(opts, 1);
    LLVMErrorRef err = LLVMRunPasses(mod, passes, tm, opts);
    LLVMDisposePassBuilderOptions(opts);
    return err;
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

/* The streaming-store base (emit.c: emit_nt_loop) that ptr is addressed from, through GEPs and
 * bitcasts, or NULL. */
static LLVMValueRef stream_base(LLVMValueRef ptr, unsigned kind)
{
    for (int depth = 0; ptr && depth < 16; depth++) {
        if (LLVMIsACallInst(ptr))
            return LLVMGetMetadata(ptr, kind) ? ptr : NULL;
        int inst = LLVMIsAGetElementPtrInst(ptr) || LLVMIsABitCastInst(ptr);
        int cexpr = LLVMIsAConstantExpr(ptr) && (LLVMGetConstOpcode(ptr) == LLVMGetElementPtr ||
                                                 LLVMGetConstOpcode(ptr) == LLVMBitCast);
        if (!inst && !cexpr)
            return NULL;
        ptr = LLVMGetOperand(ptr, 0);
    }
    return NULL;
}

/* Marks !nontemporal the vector stores addressed from a streaming-store base that LLVM has
 * proved aligned to their size (the loop vectorizer's stores, once InstCombine has seen the
 * base's llvm.ptrmask): those become vmovntps and the like. A function whose streaming stores
 * all stayed scalar or misaligned loses its sfence, which only they needed. */
static void mark_streaming_stores(LLVMModuleRef mod)
{
    LLVMContextRef ctx = LLVMGetModuleContext(mod);
    unsigned stream = LLVMGetMDKindIDInContext(ctx, MT_LLVM_STREAM_MD, 10);
    unsigned nontemporal = LLVMGetMDKindIDInContext(ctx, "nontemporal", 11);
    LLVMMetadataRef one = LLVMValueAsMetadata(LLVMConstInt(LLVMInt32TypeInContext(ctx), 1, 0));
    LLVMValueRef node = LLVMMetadataAsValue(ctx, LLVMMDNodeInContext2(ctx, &one, 1));
    LLVMTargetDataRef layout = LLVMGetModuleDataLayout(mod);
    for (LLVMValueRef fn = LLVMGetFirstFunction(mod); fn; fn = LLVMGetNextFunction(fn)) {
        int marked = 0;
        LLVMValueRef fences[8];
        int nfences = 0;
        for (LLVMBasicBlockRef bb = LLVMGetFirstBasicBlock(fn); bb; bb = LLVMGetNextBasicBlock(bb))
            for (LLVMValueRef in = LLVMGetFirstInstruction(bb); in;
                 in = LLVMGetNextInstruction(in)) {
                if (LLVMIsACallInst(in) && LLVMGetMetadata(in, stream)) {
                    LLVMValueRef callee = LLVMGetCalledValue(in);
                    size_t len = 0;
                    const char *name = callee ? LLVMGetValueName2(callee, &len) : "";
                    if (strcmp(name, "llvm.x86.sse.sfence") == 0 && nfences < 8)
                        fences[nfences++] = in;
                    continue;
                }
                if (!LLVMIsAStoreInst(in))
                    continue;
                LLVMTypeRef ty = LLVMTypeOf(LLVMGetOperand(in, 0));
                if (LLVMGetTypeKind(ty) != LLVMVectorTypeKind)
                    continue;
                unsigned long long size = LLVMStoreSizeOfType(layout, ty);
                if (size >= 16 && size <= 64 && (size & (size - 1)) == 0 &&
                    LLVMGetAlignment(in) >= size && stream_base(LLVMGetOperand(in, 1), stream)) {
                    LLVMSetMetadata(in, nontemporal, node);
                    marked++;
                }
            }
        if (!marked)
            for (int i = 0; i < nfences; i++)
                LLVMInstructionEraseFromParent(fences[i]);
    }
}

/* Runs `passes` on the functions of one kind, the others held. */
static LLVMErrorRef run_kind(mt_llvm_module *m, int all, int kind, const char *passes,
                             LLVMTargetMachineRef tm)
{
    if (!(all & kind))
        return NULL;
    int others = all & ~kind;
    if (others)
        hold(m->mod, others, 0);
    LLVMErrorRef err = run(m->mod, passes, tm);
    if (others)
        hold(m->mod, others, 1);
    return err;
}

mt_status mt_llvm_optimize_with(mt_llvm_module *m, LLVMTargetMachineRef tm, mt_diag *d)
{
    set_target(m, tm);
    int all = kinds(m->mod);
    LLVMErrorRef err = run_kind(m, all, KIND_GEMM, GEMM_PASSES, tm);
    if (!err)
        err = run_kind(m, all, KIND_SMALL, SMALL_PASSES, tm);
    if (!err && (all & KIND_KERNEL)) {
        err = run_kind(m, all, KIND_KERNEL, KERNEL_PASSES, tm);
        if (!err)
            mark_streaming_stores(m->mod);
    }
    if (err)
        return mt_llvm_fail_error(d, "optimisation failed", err);
    return MT_OK;
}

mt_status mt_llvm_emit_object_with(mt_llvm_module *m, LLVMTargetMachineRef tm,
                                   LLVMMemoryBufferRef *out, mt_diag *d)
{
    *out = NULL;
    set_target(m, tm);
    /* Small kernels' instructions are selected the fast way (optnone does that per function):
     * full instruction selection and scheduling cost a few ms per function, more than the
     * code of a loop of a few hundred iterations can win back. */
    hold(m->mod, KIND_SMALL, 0);
    char *err = NULL;
    LLVMBool failed = LLVMTargetMachineEmitToMemoryBuffer(tm, m->mod, LLVMObjectFile, &err, out);
    hold(m->mod, KIND_SMALL, 1);
    if (failed) {
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
