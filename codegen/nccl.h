/* nccl.h - the cuda target's allreduce on the device: NCCL, loaded with dlopen (nccl.c).
 *
 * Under mpirun with more than one rank (runtime/mpi.h: mt_mpi_world), an allreduce kernel's
 * buffer is reduced in place by ncclAllReduce on the cuda target's stream (the legacy default
 * stream), so it is ordered after the kernels that wrote it and before those that read it,
 * and the gradients never leave the GPU. One communicator serves the process, like MPI's world:
 * the first allreduce creates it (rank 0's ncclGetUniqueId, broadcast with MPI_Bcast, then
 * ncclCommInitRank on every rank), with the device whose context is current. NCCL wants one
 * GPU per rank: the cuda target gives rank r of a node device r modulo the node's GPUs.
 *
 * mtc never links NCCL: libnccl.so.2 is found on the library path, else under $CUDA_HOME/lib,
 * /usr/local/cuda/lib or lib64. MTC_NCCL=0 makes the cuda target reduce through the host and
 * MPI instead (codegen/gpu_collective.h), e.g. for two ranks on one GPU.
 */
#ifndef MT_CODEGEN_NCCL_H
#define MT_CODEGEN_NCCL_H

#include <stddef.h>

#include "mtc/mtc.h"

/* 1 when libnccl.so.2 loads, has every entry point used here and is at least 2.10 (ncclAvg);
 * else 0 with why in err. */
int mt_nccl_load(char *err, size_t errsize);
/* NCCL's version as ncclGetVersion gives it (22803 for 2.28.3), or 0 when it cannot be
 * loaded. */
int mt_nccl_version(void);
/* Whether the cuda target's allreduce goes to NCCL: more than one MPI rank, MTC_NCCL not 0. */
int mt_nccl_wanted(void);
/* Reduces `count` values of dt (f32 or f64) at device address buf, in place, across the ranks
 * of MPI's world, with op (MT_REDUCE_SUM, or MT_REDUCE_MEAN as ncclAvg), enqueued on `stream`
 * (a cudaStream_t: the cuda target passes cudaStreamLegacy). The caller's CUDA context must be
 * current. Every rank must make the same calls in the same order. */
mt_status mt_nccl_allreduce(void *buf, size_t count, mt_dtype dt, int op, void *stream, mt_diag *d);

#endif
