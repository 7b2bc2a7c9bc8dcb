/* gpu_collective.h - the `allreduce` op on the GPU targets (gpu.h: mt_gpu_ops.allreduce).
 *
 * A GPU program's allreduce kernel leaves the local value in a device buffer; the ranks must
 * exchange it before the next kernel reads it. Two ways:
 *
 * - through the host: the buffer is copied down, reduced by the process's allreduce hook
 *   (runtime/collective.h: MPI_Allreduce under mpirun, or whatever the caller installed) and
 *   copied back up. The opencl target always does this; so does cuda without NCCL.
 * - on the device: the cuda target under mpirun hands the device pointer to ncclAllReduce
 *   (codegen/nccl.h) on the program's stream, so the gradients never leave the GPU.
 *
 * With no hook and no MPI world the run has one rank and both leave the buffer alone.
 */
#ifndef MT_CODEGEN_GPU_COLLECTIVE_H
#define MT_CODEGEN_GPU_COLLECTIVE_H

#include <stddef.h>

#include "codegen/gpu.h"

/* Copies `bytes` between byte `offset` of device buffer mem and host memory, down
 * (to_device = 0) or up, and returns once the copy is complete. */
typedef mt_status (*mt_gpu_host_copy)(void *dev, mt_gpu_mem mem, size_t offset, void *host,
                                      size_t bytes, int to_device, mt_diag *d);

/* The host round trip above, through `copy`. */
mt_status mt_gpu_allreduce_via_host(void *dev, mt_gpu_host_copy copy, mt_gpu_mem mem, size_t offset,
                                    size_t count, mt_dtype dt, int op, mt_diag *d);

#endif
