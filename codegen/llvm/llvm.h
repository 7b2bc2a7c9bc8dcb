/* llvm.h - the LLVM renderer: kernel IR -> LLVM module -> optimised -> JIT-compiled code.
 *
 * emit.c translates each kernel of a program, scalar operation by scalar operation, through
 * the LLVM-C API and verifies the module; opt.c runs the optimisation pipelines for the host CPU
 * and emits an object file; jit.c links objects with ORC LLJIT and looks kernels up; cache.c keeps
 * objects on disk between processes. Only files under codegen/ include this header (it pulls in
 * LLVM's).
 *
 * The kernel ABI (thread-safe: generated code has no globals):
 *
 *   void PREFIXkN(void *const *bufs, int64_t begin, int64_t end);
 *
 * `bufs` holds the base address of every buffer of the program, indexed by buffer id. A
 * parallel kernel (mt_kernel_is_parallel) runs iterations [begin, end) of its outer loop; any
 * other kernel runs whole and ignores the range. Calls on disjoint ranges may run
 * concurrently.
 */
#ifndef MT_CODEGEN_LLVM_LLVM_H
#define MT_CODEGEN_LLVM_LLVM_H

#include <llvm-c/Core.h>
#include <llvm-c/Error.h>
#include <llvm-c/TargetMachine.h>

#include "codegen/llvm/gemm.h"
#include "ir/kernel.h"
#include "runtime/exec.h" /* mt_kernel_fn */

typedef struct mt_llvm_module mt_llvm_module;

/* Emits every kernel of p as the function `prefix` + kernel name and verifies the module: the
 * whole program, the GEMM functions that its matmuls call included. *out is NULL on failure
 * (MT_ERR_BACKEND with LLVM's message in d->log). */
mt_status mt_llvm_emit(const mt_kprog *p, const char *prefix, mt_llvm_module **out, mt_diag *d);
/* The same, but with gemm_bodies == 0 the GEMM functions are only declared: they are then
 * compiled on their own (mt_llvm_emit_gemm_piece) and linked with the kernels. */
mt_status mt_llvm_emit_unit(const mt_kprog *p, const char *prefix, int gemm_bodies,
                            mt_llvm_module **out, mt_diag *d);
/* The same for CPU target t (codegen/llvm/target.h: `mtc compile --target`) instead of the
 * host: the functions' target attributes, the GEMM's instruction set and the x86-only stores
 * follow t. Optimise and generate code with a target machine for t (mt_llvm_target_machine). */
typedef struct mt_cpu_target mt_cpu_target;
mt_status mt_llvm_emit_for(const mt_kprog *p, const char *prefix, const mt_cpu_target *t,
                           int gemm_bodies, mt_llvm_module **out, mt_diag *d);
/* Every distinct GEMM piece (gemm.h) that the kernels of p call, into out[0 .. *n), which
 * must have room for MT_LLVM_GEMM_MAX_PIECES. */
#define MT_LLVM_GEMM_MAX_PIECES 32
mt_status mt_llvm_gemm_pieces_of(const mt_kprog *p, mt_llvm_gemm_piece *out, int *n, mt_diag *d);
/* The same for the kernels of p emitted for CPU target t (mt_llvm_emit_for). */
/* LLVM's time to compile a GEMM piece, in units of a plain loop nest (measured with
 * MTC_DEBUG=1, which prints each unit's times): how the JIT and `mtc compile` balance units. */
int64_t mt_llvm_gemm_piece_cost(const mt_llvm_gemm_piece *p);

mt_status mt_llvm_gemm_pieces_for(const mt_kprog *p, const mt_cpu_target *t,
                                  mt_llvm_gemm_piece *out, int *n, mt_diag *d);
/* A module holding one GEMM piece, defined (the pieces it calls are declared). */
mt_status mt_llvm_emit_gemm_piece(const mt_llvm_gemm_piece *piece, mt_llvm_module **out,
                                  mt_diag *d);
/* The program's entry (entry.c, runtime/exec.h: mt_entry_fn) as the function `prefix` +
 * "entry", in a module of its own; it calls the kernels `prefix` + kernel name, defined
 * elsewhere. */
mt_status mt_llvm_emit_entry(const mt_kprog *p, const char *prefix, mt_llvm_module **out,
                             mt_diag *d);
/* Everything the entry's code depends on, as text (the key of its cache entry); the caller
 * frees it with mt_free. NULL when out of memory. */
char *mt_llvm_entry_describe(const mt_kprog *p, const char *prefix);
/* The metadata kind that marks the aligned start of a streaming store (emit.c): vector stores
 * addressed from it that LLVM proved aligned to their size are made non-temporal by
 * mt_llvm_optimize. */
#define MT_LLVM_STREAM_MD "mtc.stream"
/* Kernels of at most this much work (mt_kernel.work) are "small": their functions carry the
 * attribute MT_LLVM_SMALL_ATTR and get a short pipeline and fast instruction selection (opt.c),
 * because their code runs a few hundred iterations at most, where a vectorised loop saves
 * less than a call costs, while a graph of hundreds of them (a long chain's gradient) spent
 * seconds in LLVM (docs/scaling.md). */
#define MT_LLVM_SMALL_WORK 256
#define MT_LLVM_SMALL_ATTR "mtc-small"
/* A kernel body with more buffers than this is not inlined into its entry point: the inliner
 * turns each noalias parameter into an alias scope on every memory access, and alias analysis
 * then compares scope lists, quadratic in the buffers (a gradient's 600-buffer sum took 17 s
 * to optimise). As a function of its own the parameters stay noalias attributes. */
#define MT_LLVM_INLINE_MAX_BUFS 16
/* Optimises for the host CPU and its features (opt.c: the kernels with the useful part of
 * default<O3>, GEMM functions with a short pipeline of their own), then makes streaming stores
 * non-temporal. */
mt_status mt_llvm_optimize(mt_llvm_module *m, mt_diag *d);
/* Generates machine code for the host (the target machine of mt_llvm_host_machine) as an
 * ELF object file in memory. *out is the caller's (LLVMDisposeMemoryBuffer), NULL on failure.
 * m stays the caller's and is not changed, except that its triple and data layout are set. */
mt_status mt_llvm_emit_object(mt_llvm_module *m, LLVMMemoryBufferRef *out, mt_diag *d);
/* The same two steps with a target machine from mt_llvm_host_machine, which may serve many
 * modules one after the other (not two threads at once): it caches the costly parts. */
mt_status mt_llvm_optimize_with(mt_llvm_module *m, LLVMTargetMachineRef tm, mt_diag *d);
mt_status mt_llvm_emit_object_with(mt_llvm_module *m, LLVMTargetMachineRef tm,
                                   LLVMMemoryBufferRef *out, mt_diag *d);
/* The optimisation and code generation settings as text (part of the kernel cache's key). */
const char *mt_llvm_pipeline_description(void);
/* The module as LLVM assembly; free with mt_free. NULL when out of memory. */
char *mt_llvm_module_print(const mt_llvm_module *m);
void mt_llvm_module_free(mt_llvm_module *m);

/* A target machine for t (codegen/llvm/target.h): its triple, CPU name and features, at O3. */
mt_status mt_llvm_target_machine(const mt_cpu_target *t, LLVMTargetMachineRef *out, mt_diag *d);
/* The same for mt_cpu_target_host(). */
mt_status mt_llvm_host_machine(LLVMTargetMachineRef *out, mt_diag *d);
/* Initialises LLVM's native target once per process (thread-safe). */
void mt_llvm_init(void);
/* Records an LLVM failure: MT_ERR_BACKEND "llvm: WHAT: first line of msg", the whole text as
 * the diag's log. `msg` may be NULL. */
mt_status mt_llvm_fail(mt_diag *d, const char *what, const char *msg);
/* The same for an LLVMErrorRef, which it consumes. */
mt_status mt_llvm_fail_error(mt_diag *d, const char *what, LLVMErrorRef err);

typedef struct mt_llvm_jit mt_llvm_jit;

/* Compiles module m (optimised or not: it is compiled as it is) to an object file with
 * mt_llvm_emit_object and links it with ORC LLJIT. Takes m, also on failure. Calls from the
 * generated code to libm (expf, tanh, ...) resolve against the running process. */
mt_status mt_llvm_jit_new(mt_llvm_module *m, mt_llvm_jit **out, mt_diag *d);
/* An ORC LLJIT for the host with no code yet; undefined symbols resolve against the process. */
mt_status mt_llvm_jit_create(mt_llvm_jit **out, mt_diag *d);
/* Adds an object file for the host (from mt_llvm_emit_object or the kernel cache); it is
 * linked at the first lookup. Takes obj, also on failure. */
mt_status mt_llvm_jit_add_object(mt_llvm_jit *j, LLVMMemoryBufferRef obj, mt_diag *d);
/* The address of function `name`, or NULL with d set. */
mt_kernel_fn mt_llvm_jit_lookup(mt_llvm_jit *j, const char *name, mt_diag *d);
void mt_llvm_jit_free(mt_llvm_jit *j);

/* For jit.c: the parts of a module. */
struct mt_llvm_module {
    void *tsc; /* LLVMOrcThreadSafeContextRef, owning ctx */
    LLVMContextRef ctx;
    LLVMModuleRef mod;
};

#endif
