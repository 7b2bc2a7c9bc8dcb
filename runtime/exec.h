/* exec.h - running a compiled kernel program (ir/kernel.h) over its buffers.
 *
 * The executor is target-independent: it binds the caller's input and output buffers to the
 * program's buffers, places the temporaries in one arena (at the offsets memory planning
 * chose), and calls each kernel's compiled entry point in order, splitting parallel kernels
 * over a thread pool. The arena and the table of buffer pointers are allocated once, by
 * mt_exec_init, and reused by every run: a run allocates nothing, so one mt_exec runs one
 * program at a time. When to split and in what quanta is the program's (mt_kprog.exec, from
 * the target description).
 *
 * Only a kernel whose body is one outer loop marked MT_KLOOP_PARALLEL is split, and only at
 * that loop: inner loops marked parallel are a promise to renderers that map loops to a grid
 * (a GPU), not split points of this executor.
 *
 * Step graphs: a STATE buffer is bound like an input, to storage the caller keeps between
 * runs; after the last kernel each update that was not stored in place is copied into it.
 */
#ifndef MT_RUNTIME_EXEC_H
#define MT_RUNTIME_EXEC_H

#include "ir/kernel.h"
#include "runtime/pool.h"
#include "runtime/tensor.h"

/* The compiled form of a kernel (the ABI of codegen/llvm/llvm.h). */
typedef void (*mt_kernel_fn)(void *const *bufs, int64_t begin, int64_t end);

/* The memory runs of one kernel program reuse. */
typedef struct mt_exec {
    const mt_kprog *p; /* borrowed; outlives the mt_exec */
    void **bufs;       /* one pointer per buffer, rebound by each run */
    void *arena;       /* the temporaries: p->arena_bytes, 64-byte aligned inside */
    /* Profiling (`mtc profile`): NULL, or p->nkernels counters to which each run adds the wall
     * time of every kernel in nanoseconds (its allreduce included). Set by the caller. */
    double *kernel_ns;
} mt_exec;

/* Allocates the arena and the buffer table for p. */
mt_status mt_exec_init(mt_exec *e, const mt_kprog *p, mt_diag *d);
void mt_exec_fini(mt_exec *e);

/* Runs e's program once: fns[k] is kernel k's code. `leaves` has nleaves slots indexed by
 * node id of the compiled graph; the slot of every input buffer points at data of its
 * declared type (the caller checks types), and that of every STATE buffer at writable storage
 * that the run leaves holding the new value. `outputs` has p->noutputs pointers, one per graph
 * output, each to storage of that output's type that the run overwrites: the kernels write
 * there directly. Distinct outputs must not overlap each other or an input; two outputs that
 * the program computes as one buffer (a value listed twice) may share a pointer. `pool` may
 * be NULL (one thread). */
mt_status mt_exec_run(mt_exec *e, mt_kernel_fn const *fns, mt_pool *pool, const void *const *leaves,
                      int nleaves, void *const *outputs, mt_diag *d);

#endif
