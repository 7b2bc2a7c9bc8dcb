/* cpu.h - the CPU backend: a graph compiled to fused, vectorised kernels with LLVM.
 *
 * The pipeline (docs/cpu-backend.md): simplify (passes/pipeline.c) -> fuse (passes/fuse.c)
 * -> lower to kernel IR (passes/lower.c) -> plan memory (passes/memplan.c) -> compile
 * (codegen/llvm/compile.c): the kernels are split into units, plus one unit per function of
 * the shared GEMM that the matmuls call (codegen/llvm/gemm.h); each unit is looked up in the
 * on-disk kernel cache (codegen/llvm/cache.c, docs/cache.md) and, when missing, emitted as
 * LLVM IR (emit.c), optimised for the host (opt.c) and compiled to an object file, on a pool
 * of threads; ORC LLJIT links the objects (jit.c). Running binds the caller's tensors and
 * splits each kernel's outer loop over a thread pool (runtime/exec.c).
 */
#ifndef MT_CODEGEN_CPU_H
#define MT_CODEGEN_CPU_H

#include "ir/graph.h"
#include "passes/stats.h"
#include "passes/target.h"
#include "runtime/exec.h"
#include "runtime/tensor.h"

typedef struct mt_cpu_program mt_cpu_program;

/* Compiles g (borrowed for the call) for this machine, after the default simplification
 * pipeline (the `optimized` stage: fold, algebraic, cse, dce). *out is NULL on failure. */
mt_status mt_cpu_compile(const mt_graph *g, mt_cpu_program **out, mt_diag *d);
/* The same with another description of the CPU than mt_target_desc_cpu() (tests: a CPU without
 * a native GEMM gets the plain loops a new renderer starts from); t is borrowed for the call. */
mt_status mt_cpu_compile_for(const mt_graph *g, const mt_target_desc *t, mt_cpu_program **out,
                             mt_diag *d);
/* Runs the program once. `leaves` has one slot per node of the compiled graph, indexed by node
 * id (runtime/interp.h); input and param slots hold tensors of the declared types. On success
 * `outputs` (one slot per graph output) holds new tensors the caller frees; on failure every
 * slot is NULL. Runs on one program take turns: they share its arena of temporaries. */
mt_status mt_cpu_run(mt_cpu_program *p, const mt_tensor *const *leaves, mt_tensor **outputs,
                     mt_diag *d);
/* The same over raw buffers, allocating nothing: `leaves` is indexed like mt_cpu_run's, each
 * input and param slot pointing at data of the declared type (not checked); `outputs` has one
 * pointer per graph output to storage of its type, which the kernels write directly
 * (runtime/exec.h says which may share storage). */
mt_status mt_cpu_run_buffers(mt_cpu_program *p, const void *const *leaves, void *const *outputs,
                             mt_diag *d);
void mt_cpu_free(mt_cpu_program *p);
/* Later runs call timer(ctx, k, ns) after each kernel k (runtime/exec.h: mt_kernel_timer);
 * NULL turns timing off. Timed runs walk the kernels in the executor (the generated entry
 * function is not used), so each kernel is dispatched as it would be untimed. Not to be called
 * while a run is in progress. */
void mt_cpu_set_kernel_timer(mt_cpu_program *p, mt_kernel_timer timer, void *ctx);
/* Whether p's untimed runs go through a generated entry (codegen/llvm/entry.c): every
 * program of more than one kernel. */
int mt_cpu_has_entry(const mt_cpu_program *p);
/* The kernel program p runs (kernel k of the timer is p->kernels[k]). */
const mt_kprog *mt_cpu_kernels(const mt_cpu_program *p);
/* The number of threads later runs use (n >= 1); by default MTC_NUM_THREADS, else every
 * core. Not to be called while a run is in progress. */
mt_status mt_cpu_set_threads(mt_cpu_program *p, int n, mt_diag *d);

/* Each kernel's entry point, borrowed from p: with mt_cpu_kernels, what `mtc profile` runs
 * kernel by kernel through runtime/exec.h with its timer, whichever way mt_cpu_run calls them
 * (the kernel program's buffers' nodes are those of the optimised graph, its input buffers
 * named as the graph's leaves). */
mt_kernel_fn const *mt_cpu_kernel_fns(const mt_cpu_program *p);

/* The stages of `mtc dump` for graph g as given (pass it the optimized stage to see what
 * mt_cpu_compile compiles), as text the caller frees with mt_free; NULL with d set on failure.
 *   fused    the partition into kernels (`why`: the reason behind each stored value)
 *   kernels  the loop nests, after memory planning (arena offsets)
 *   llvm     the optimised LLVM module: every kernel and the GEMM functions they call, as one
 *            module (compiling cuts the same functions into units) */
char *mt_cpu_dump_fused(const mt_graph *g, int why, mt_diag *d);
char *mt_cpu_dump_kernels(const mt_graph *g, mt_diag *d);
char *mt_cpu_dump_llvm(const mt_graph *g, mt_diag *d);
/* The fused program's costs, for `mtc dump --stats`: nodes = kernels; flops as the graph;
 * bytes = every buffer a kernel touches, once per kernel; peak = inputs + outputs + the arena
 * of temporaries after memory planning. */
mt_status mt_cpu_stats(const mt_graph *g, mt_stats *s, mt_diag *d);

/* The CPU's target description (codegen/cpu_desc.c): what the schedule (passes/schedule.h)
 * and the executor need to know about this backend. Static; never freed. */
const mt_target_desc *mt_target_desc_cpu(void);

#endif
