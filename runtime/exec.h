/* exec.h - running a compiled kernel program (ir/kernel.h) over its buffers.
 *
 * The executor is target-independent: it binds the caller's tensors and fresh outputs to the
 * program's buffers, allocates one arena for the temporaries (at the offsets memory planning
 * chose), and calls each kernel's compiled entry point in order, splitting parallel kernels
 * over a thread pool. Each run has its own arena, so runs may overlap. When to split and in
 * what quanta is the program's (mt_kprog.exec, from the target description).
 *
 * Only a kernel whose body is one outer loop marked MT_KLOOP_PARALLEL is split, and only at
 * that loop: inner loops marked parallel are a promise to renderers that map loops to a grid
 * (a GPU), not split points of this executor.
 */
#ifndef MT_RUNTIME_EXEC_H
#define MT_RUNTIME_EXEC_H

#include "ir/kernel.h"
#include "runtime/pool.h"
#include "runtime/tensor.h"

/* The compiled form of a kernel (the ABI of codegen/llvm/llvm.h). */
typedef void (*mt_kernel_fn)(void *const *bufs, int64_t begin, int64_t end);

/* Runs p: fns[k] is kernel k's code. `leaves` has one slot per graph node (indexed by node
 * id, like runtime/interp.h); the slots of the program's input buffers must hold tensors of
 * the declared types. On success `outputs` (p->noutputs slots) holds new tensors; on failure
 * every slot is NULL. `pool` may be NULL (one thread). */
mt_status mt_exec_run(const mt_kprog *p, mt_kernel_fn const *fns, mt_pool *pool,
                      const mt_tensor *const *leaves, int nleaves, mt_tensor **outputs, mt_diag *d);

#endif
