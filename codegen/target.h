/* target.h - a target: what compiles a graph and runs it (QBE's `Target`, STYLE.md).
 *
 * A target is a struct of function pointers in one static table (codegen/targets.c); nothing
 * registers itself at start-up. The program API (codegen/program.c) owns the named storage
 * of a program and hands a target raw pointers, so a target knows nothing about names,
 * binding or ownership:
 *
 *   compile  the graph (borrowed for the call) into the target's own state
 *   run      one run: `leaves` has one pointer per node of the compiled graph, indexed by node
 *            id, those of inputs, params and state pointing at data of the declared type
 *            (others NULL); `outputs` has one pointer per graph output, to storage of its type
 *            that the run overwrites. Two outputs of the same value may share a pointer.
 *
 * Params and state are owned by the program, not the target, and stay put between runs. For a
 * step graph (`update %p <- %v`) their pointers are the program's writable storage, and a run
 * leaves each updated param or state holding its new value there, having read only old values
 * while it ran.
 *
 * A device target (cuda, opencl) keeps params and state in its own memory between runs
 * instead: it has `upload` and `download`, the program calls upload after it stores a param
 * or state (set, load) and before the next run, and download before it reads one that a run
 * has updated (get, data, params). Its run reads only the inputs from `leaves`.
 */
#ifndef MT_CODEGEN_TARGET_H
#define MT_CODEGEN_TARGET_H

#include "ir/graph.h"
#include "runtime/exec.h"

typedef struct mt_target {
    const char *name; /* as in mt_program_compile and `mtc run --backend` */
    const char *doc;  /* one line */
    /* NULL when this build lacks the target: compiling for it is MT_ERR_UNSUPPORTED. */
    mt_status (*compile)(const mt_graph *g, void **impl, mt_diag *d);
    mt_status (*run)(void *impl, const void *const *leaves, void *const *outputs, mt_diag *d);
    /* NULL when runs use one thread whatever is asked. */
    mt_status (*set_threads)(void *impl, int n, mt_diag *d);
    void (*free)(void *impl);
    /* Device targets only (else NULL): copy the value of param or state `node` to the
     * target's memory, or from it. */
    mt_status (*upload)(void *impl, int node, const void *data, mt_diag *d);
    mt_status (*download)(void *impl, int node, void *data, mt_diag *d);
    /* NULL when the target cannot time its kernels: later runs call timer(ctx, k, ns) after
     * kernel k of its kernel program (runtime/exec.h), or no longer when timer is NULL. */
    void (*set_timer)(void *impl, mt_kernel_timer timer, void *ctx);
} mt_target;

/* Times each kernel of p's later runs (mtc profile, bench/small_step.c): MT_ERR_UNSUPPORTED
 * when p's target cannot. */
mt_status mt_program_set_kernel_timer(mt_program *p, mt_kernel_timer timer, void *ctx, mt_diag *d);
/* The target's compiled form of p (a mt_cpu_program for "cpu"), for tools that look inside. */
void *mt_program_impl(const mt_program *p);

/* NULL when no target has that name. */
const mt_target *mt_target_lookup(const char *name);

/* The targets of the table, defined in their own files. */
extern const mt_target mt_target_interp; /* codegen/target_interp.c */
extern const mt_target mt_target_cpu;    /* codegen/target_cpu.c */
extern const mt_target mt_target_cuda;   /* codegen/target_gpu.c */
extern const mt_target mt_target_opencl; /* codegen/target_gpu.c */

#endif
