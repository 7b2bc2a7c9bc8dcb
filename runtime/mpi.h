/* mpi.h - data-parallel runs under `mpirun`: Open MPI loaded at run time.
 *
 * mtc never links MPI: where a run was started by Open MPI's `mpirun` (it exports
 * OMPI_COMM_WORLD_SIZE), mt_mpi_start loads libmpi.so.40 with dlopen, initialises it and
 * installs its MPI_Allreduce as the process's allreduce hook (runtime/collective.h), so the
 * `allreduce` op reduces across the ranks of MPI's world communicator. Anywhere else, or with
 * one rank, nothing is loaded and a run has one rank. A multi-rank run where MPI cannot be
 * loaded is an error that says so.
 */
#ifndef MT_RUNTIME_MPI_H
#define MT_RUNTIME_MPI_H

#include "mtc/mtc.h"

typedef struct mt_mpi {
    int rank, size; /* 0 and 1 without MPI */
    int active;     /* MPI was initialised here: mt_mpi_stop finalises it */
} mt_mpi;

/* Joins the run's process group (see above). */
mt_status mt_mpi_start(mt_mpi *m, mt_diag *d);
/* Every rank's `value` equals rank 0's (a check that all ranks compiled the same graph and
 * read the same data: pass a hash); 1 when it does or there is one rank, else 0 with d naming
 * the first rank that differs. */
int mt_mpi_agree(const mt_mpi *m, uint64_t value, mt_diag *d);
/* Ends every rank of the run with exit code `code` (MPI_Abort): a rank that fails must not
 * leave the others waiting in a collective. Returns only without MPI. */
void mt_mpi_abort(const mt_mpi *m, int code);
void mt_mpi_stop(mt_mpi *m);

/* The world that mt_mpi_start joined, for code that has no mt_mpi at hand (the cuda target's
 * NCCL communicator, codegen/nccl.c): its size, 1 before mt_mpi_start, after mt_mpi_stop or
 * without MPI; this process's rank in *rank. */
int mt_mpi_world(int *rank);
/* Rank `root`'s `bytes` at buf, copied into every other rank's buf (MPI_Bcast); MT_OK at once
 * with one rank. Every rank must call it. */
mt_status mt_mpi_bcast(void *buf, size_t bytes, int root, mt_diag *d);

#endif
