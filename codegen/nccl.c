/* nccl.c - NCCL through dlopen (nccl.h). The entry points and constants used are declared
 * here as NCCL 2's nccl.h declares them (its enums are ints; cudaStream_t is a pointer), so
 * building mtc needs neither NCCL nor CUDA headers. */
#include "codegen/nccl.h"

#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codegen/dl.h"
#include "ir/op.h"
#include "runtime/mpi.h"

typedef int ncclResult_t; /* ncclSuccess is 0 */
typedef struct ncclComm *ncclComm_t;
#define NCCL_UNIQUE_ID_BYTES 128
typedef struct {
    char internal[NCCL_UNIQUE_ID_BYTES];
} ncclUniqueId;

enum { NCCL_SUM = 0, NCCL_AVG = 4 };         /* ncclRedOp_t */
enum { NCCL_FLOAT32 = 7, NCCL_FLOAT64 = 8 }; /* ncclDataType_t */
/* ncclAvg arrived in 2.10; versions from 2.9 on are major*10000 + minor*100 + patch. */
#define NCCL_MIN_VERSION 21000

#define NCCL_API(X)                                                                                \
    X(ncclResult_t, ncclGetVersion, (int *))                                                       \
    X(const char *, ncclGetErrorString, (ncclResult_t))                                            \
    X(const char *, ncclGetLastError, (ncclComm_t))                                                \
    X(ncclResult_t, ncclGetUniqueId, (ncclUniqueId *))                                             \
    X(ncclResult_t, ncclCommInitRank, (ncclComm_t *, int, ncclUniqueId, int))                      \
    X(ncclResult_t, ncclAllReduce, (const void *, void *, size_t, int, int, ncclComm_t, void *))

static struct {
#define FIELD(ret, name, args) ret(*name) args;
    NCCL_API(FIELD)
#undef FIELD
} api;
static int loaded, version; /* loaded: 1, or -1 when it failed */
static char load_error[256];
static pthread_once_t load_once = PTHREAD_ONCE_INIT;

static void *open_lib(void)
{
    void *lib = dlopen("libnccl.so.2", RTLD_NOW | RTLD_LOCAL);
    const char *home = getenv("CUDA_HOME");
    const char *dirs[] = {home && *home ? home : "/usr/local/cuda", "/usr/local/cuda"};
    for (size_t i = 0; i < 2 && !lib; i++) {
        char path[512];
        snprintf(path, sizeof path, "%s/lib/libnccl.so.2", dirs[i]);
        if (!(lib = dlopen(path, RTLD_NOW | RTLD_LOCAL))) {
            snprintf(path, sizeof path, "%s/lib64/libnccl.so.2", dirs[i]);
            lib = dlopen(path, RTLD_NOW | RTLD_LOCAL);
        }
    }
    return lib;
}

static void load(void)
{
    void *lib = open_lib();
    if (!lib) {
        snprintf(load_error, sizeof load_error,
                 "libnccl.so.2 was not found (install NCCL 2, or set CUDA_HOME; MTC_NCCL=0 "
                 "reduces through the host and MPI instead)");
        loaded = -1;
        return;
    }
    loaded = 1;
#define RESOLVE(ret, name, args)                                                                   \
    if (loaded == 1 && !mt_dl_sym(lib, "libnccl.so.2", #name, &api.name, sizeof api.name,          \
                                  load_error, sizeof load_error))                                  \
        loaded = -1;
    NCCL_API(RESOLVE)
#undef RESOLVE
    if (loaded == 1 && (api.ncclGetVersion(&version) != 0 || version < NCCL_MIN_VERSION)) {
        snprintf(load_error, sizeof load_error,
                 "libnccl.so.2 is version %d; mtc needs 2.10 or later (ncclAvg)", version);
        loaded = -1;
    }
}

int mt_nccl_load(char *err, size_t errsize)
{
    pthread_once(&load_once, load);
    if (loaded != 1 && err && errsize)
        snprintf(err, errsize, "%s", load_error);
    return loaded == 1;
}

int mt_nccl_version(void) { return mt_nccl_load(NULL, 0) ? version : 0; }

int mt_nccl_wanted(void)
{
    const char *off = getenv("MTC_NCCL");
    int rank;
    return mt_mpi_world(&rank) > 1 && !(off && !strcmp(off, "0"));
}

/* ---- the world communicator ------------------------------------------------------------ */

static pthread_mutex_t comm_lock = PTHREAD_MUTEX_INITIALIZER;
static ncclComm_t world;

static mt_status nccl_fail(mt_diag *d, const char *what, ncclResult_t r, ncclComm_t comm)
{
    const char *last = comm ? api.ncclGetLastError(comm) : NULL;
    return mt_diag_set(d, MT_ERR_BACKEND, "nccl: %s failed: %s%s%s (%d)", what,
                       api.ncclGetErrorString(r), last && *last ? ": " : "", last ? last : "", r);
}

/* The communicator of MPI's world, made on first use. Every rank takes part in the broadcast
 * even when its own NCCL failed to load, so no rank is left waiting in it; a rank that fails
 * then ends the run (mtc train calls MPI_Abort). */
static mt_status world_comm(ncclComm_t *out, mt_diag *d)
{
    pthread_mutex_lock(&comm_lock);
    mt_status st = MT_OK;
    if (!world) {
        char err[256] = "";
        int ok = mt_nccl_load(err, sizeof err), rank, size = mt_mpi_world(&rank);
        struct {
            int ok;
            ncclUniqueId id;
        } msg;
        memset(&msg, 0, sizeof msg);
        ncclResult_t r = 0;
        if (rank == 0 && ok)
            msg.ok = (r = api.ncclGetUniqueId(&msg.id)) == 0;
        st = mt_mpi_bcast(&msg, sizeof msg, 0, d);
        if (st == MT_OK && !ok)
            st = mt_diag_set(d, MT_ERR_BACKEND, "nccl: %s", err);
        else if (st == MT_OK && rank == 0 && !msg.ok)
            st = nccl_fail(d, "ncclGetUniqueId", r, NULL);
        else if (st == MT_OK && !msg.ok)
            st = mt_diag_set(d, MT_ERR_BACKEND, "nccl: rank 0 could not start a communicator");
        else if (st == MT_OK && (r = api.ncclCommInitRank(&world, size, msg.id, rank)) != 0) {
            world = NULL;
            st = nccl_fail(d, "ncclCommInitRank", r, NULL);
        }
    }
    *out = world;
    pthread_mutex_unlock(&comm_lock);
    return st;
}

mt_status mt_nccl_allreduce(void *buf, size_t count, mt_dtype dt, int op, void *stream, mt_diag *d)
{
    ncclComm_t comm = NULL;
    mt_status st = world_comm(&comm, d);
    if (st != MT_OK || count == 0)
        return st;
    ncclResult_t r =
        api.ncclAllReduce(buf, buf, count, dt == MT_DTYPE_F64 ? NCCL_FLOAT64 : NCCL_FLOAT32,
                          op == MT_REDUCE_MEAN ? NCCL_AVG : NCCL_SUM, comm, stream);
    return r == 0 ? MT_OK : nccl_fail(d, "ncclAllReduce", r, comm);
}
