/* mpi.c - Open MPI through dlopen (runtime/mpi.h).
 *
 * Open MPI's handles (MPI_COMM_WORLD, MPI_FLOAT, MPI_SUM, ...) are the addresses of global
 * objects of libmpi, so dlsym finds them like functions; MPI_IN_PLACE is the address 1. Only
 * what mtc uses is declared here, so building mtc needs no MPI headers.
 */
#include "runtime/mpi.h"

#include <dlfcn.h>
#include <stdint.h>
#include <stdlib.h>

#include "runtime/collective.h"

typedef int (*init_fn)(int *, char ***);
typedef int (*flag_fn)(int *);
typedef int (*comm_int_fn)(void *, int *);
typedef int (*allreduce_fn)(const void *, void *, int, void *, void *, void *);
typedef int (*bcast_fn)(void *, int, void *, int, void *);
typedef int (*abort_fn)(void *, int);
typedef int (*finalize_fn)(void);

static struct {
    void *lib;
    void *world, *f32, *f64, *u64, *byte, *op_sum, *op_max, *op_min;
    init_fn init;
    flag_fn initialized;
    comm_int_fn rank, size;
    allreduce_fn allreduce;
    bcast_fn bcast;
    abort_fn abort;
    finalize_fn finalize;
    int nranks, myrank; /* of the world joined (0 when none) */
} mpi;

#define MPI_IN_PLACE ((void *)1)

static int load(void)
{
    if (mpi.lib)
        return 1;
    void *lib = dlopen("libmpi.so.40", RTLD_NOW | RTLD_GLOBAL);
    if (!lib)
        lib = dlopen("libmpi.so", RTLD_NOW | RTLD_GLOBAL);
    if (!lib)
        return 0;
    mpi.world = dlsym(lib, "ompi_mpi_comm_world");
    mpi.f32 = dlsym(lib, "ompi_mpi_float");
    mpi.f64 = dlsym(lib, "ompi_mpi_double");
    mpi.u64 = dlsym(lib, "ompi_mpi_uint64_t");
    mpi.byte = dlsym(lib, "ompi_mpi_byte");
    mpi.op_sum = dlsym(lib, "ompi_mpi_op_sum");
    mpi.op_max = dlsym(lib, "ompi_mpi_op_max");
    mpi.op_min = dlsym(lib, "ompi_mpi_op_min");
    *(void **)&mpi.init = dlsym(lib, "MPI_Init");
    *(void **)&mpi.initialized = dlsym(lib, "MPI_Initialized");
    *(void **)&mpi.rank = dlsym(lib, "MPI_Comm_rank");
    *(void **)&mpi.size = dlsym(lib, "MPI_Comm_size");
    *(void **)&mpi.allreduce = dlsym(lib, "MPI_Allreduce");
    *(void **)&mpi.bcast = dlsym(lib, "MPI_Bcast");
    *(void **)&mpi.abort = dlsym(lib, "MPI_Abort");
    *(void **)&mpi.finalize = dlsym(lib, "MPI_Finalize");
    if (!mpi.world || !mpi.f32 || !mpi.f64 || !mpi.u64 || !mpi.byte || !mpi.op_sum || !mpi.op_max ||
        !mpi.op_min || !mpi.init || !mpi.initialized || !mpi.rank || !mpi.size || !mpi.allreduce ||
        !mpi.bcast || !mpi.abort || !mpi.finalize) {
        dlclose(lib);
        return 0;
    }
    mpi.lib = lib;
    return 1;
}

/* The allreduce hook (mtc.h mt_allreduce_fn): a sum across the world, divided for a mean. */
static int hook(void *buf, size_t count, int dtype, int op, void *ctx)
{
    (void)ctx;
    for (size_t done = 0; done < count;) { /* MPI counts are ints */
        size_t n = count - done < (size_t)1 << 30 ? count - done : (size_t)1 << 30;
        void *at = (char *)buf + done * (dtype ? sizeof(double) : sizeof(float));
        if (mpi.allreduce(MPI_IN_PLACE, at, (int)n, dtype ? mpi.f64 : mpi.f32, mpi.op_sum,
                          mpi.world) != 0)
            return 1;
        done += n;
    }
    if (op == 1) /* mean: the ABI's op code, ir/op.h MT_REDUCE_MEAN */
        for (size_t i = 0; i < count; i++) {
            if (dtype)
                ((double *)buf)[i] /= mpi.nranks;
            else
                ((float *)buf)[i] /= (float)mpi.nranks;
        }
    return 0;
}

mt_status mt_mpi_start(mt_mpi *m, mt_diag *d)
{
    m->rank = 0;
    m->size = 1;
    m->active = 0;
    const char *env = getenv("OMPI_COMM_WORLD_SIZE");
    if (!env || atoi(env) <= 1)
        return MT_OK;
    if (!load())
        return mt_diag_set(d, MT_ERR_UNSUPPORTED,
                           "this run has %s ranks (mpirun) but Open MPI's libmpi.so.40 cannot be "
                           "loaded: %s",
                           env, dlerror());
    int done = 0;
    mpi.initialized(&done);
    if (!done && mpi.init(NULL, NULL) != 0)
        return mt_diag_set(d, MT_ERR_BACKEND, "MPI_Init failed");
    mpi.rank(mpi.world, &m->rank);
    mpi.size(mpi.world, &m->size);
    mpi.nranks = m->size;
    mpi.myrank = m->rank;
    m->active = !done;
    mt_set_allreduce(hook, NULL);
    return MT_OK;
}

int mt_mpi_agree(const mt_mpi *m, uint64_t value, mt_diag *d)
{
    if (m->size <= 1)
        return 1;
    uint64_t lo = value, hi = value;
    mpi.allreduce(MPI_IN_PLACE, &lo, 1, mpi.u64, mpi.op_min, mpi.world);
    mpi.allreduce(MPI_IN_PLACE, &hi, 1, mpi.u64, mpi.op_max, mpi.world);
    if (lo == hi)
        return 1;
    /* Name the first rank that differs from rank 0. */
    uint64_t mine = value, zero = m->rank == 0 ? value : 0;
    mpi.allreduce(MPI_IN_PLACE, &zero, 1, mpi.u64, mpi.op_max, mpi.world);
    uint64_t first = mine != zero ? (uint64_t)m->rank : UINT64_MAX;
    mpi.allreduce(MPI_IN_PLACE, &first, 1, mpi.u64, mpi.op_min, mpi.world);
    mt_diag_set(d, MT_ERR_ARG,
                "the ranks disagree: rank %llu compiled another graph or read other data than "
                "rank 0",
                (unsigned long long)first);
    return 0;
}

void mt_mpi_abort(const mt_mpi *m, int code)
{
    if (m->size > 1 && mpi.lib)
        mpi.abort(mpi.world, code);
}

void mt_mpi_stop(mt_mpi *m)
{
    if (m->size > 1) {
        mt_set_allreduce(NULL, NULL);
        mpi.nranks = mpi.myrank = 0;
        if (m->active)
            mpi.finalize();
    }
    m->active = 0;
}

int mt_mpi_world(int *rank)
{
    *rank = mpi.nranks > 1 ? mpi.myrank : 0;
    return mpi.nranks > 1 ? mpi.nranks : 1;
}

mt_status mt_mpi_bcast(void *buf, size_t bytes, int root, mt_diag *d)
{
    if (mpi.nranks <= 1)
        return MT_OK;
    for (size_t done = 0; done < bytes;) { /* MPI counts are ints */
        size_t n = bytes - done < (size_t)1 << 30 ? bytes - done : (size_t)1 << 30;
        if (mpi.bcast((char *)buf + done, (int)n, mpi.byte, root, mpi.world) != 0)
            return mt_diag_set(d, MT_ERR_BACKEND, "MPI_Bcast of %zu bytes from rank %d failed",
                               bytes, root);
        done += n;
    }
    return MT_OK;
}
