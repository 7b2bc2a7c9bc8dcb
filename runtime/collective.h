/* collective.h - the process group behind the `allreduce` op.
 *
 * mtc does not talk to the network itself: the caller's MPI (or NCCL) does the reduction
 * through one function it installs for the process, exactly the hook of the shared-object
 * ABI's NAME_set_allreduce (docs/abi.md). Without one, the run has one rank and `allreduce`
 * is the identity. The interpreter and the CPU executor call it on a buffer that holds the
 * local value and must hold the reduced one afterwards.
 */
#ifndef MT_RUNTIME_COLLECTIVE_H
#define MT_RUNTIME_COLLECTIVE_H

#include <stddef.h>

#include "mtc/mtc.h"

/* Reduces `count` elements of dtype `dt` in `buf` across the ranks, in place, with `op`
 * (MT_REDUCE_SUM or MT_REDUCE_MEAN of ir/op.h). MT_OK when there is no hook (one rank). */
mt_status mt_collective_allreduce(void *buf, size_t count, mt_dtype dt, int op, mt_diag *d);
/* Whether a hook is set: without one a device target need not copy a buffer to the host to
 * leave it as it is. */
int mt_collective_hooked(void);

#endif
