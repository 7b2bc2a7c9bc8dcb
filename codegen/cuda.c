/* cuda.c - the CUDA driver API behind mt_gpu_ops (gpu.h), loaded with dlopen.
 *
 * libcuda.so.1 (the driver) is opened at run time and the entry points used are declared here
 * as cuda.h declares them (the _v2 symbols where cuda.h maps a name to one), so mtc builds
 * without the CUDA toolkit and `--backend cuda` says plainly what is missing where there is
 * no driver or no device. The first device is used (MTC_CUDA_DEVICE=N picks another) through
 * its primary context. Kernels are compiled by NVRTC (nvrtc.c) to a cubin for the device's
 * own architecture (sm_XY from its compute capability) and the cubin is kept in the kernel
 * cache (runtime/cache.h), keyed by the source, the architecture and the NVRTC version.
 * Temporaries share one allocation (gpu.h: `at`), launches and copies go to the default
 * stream in order, and finish synchronizes the context.
 *
 * Tested where there is no GPU only as far as "no driver" and "no device": docs/gpu.md lists
 * what remains to be run on one.
 */
#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codegen/dl.h"
#include "codegen/gpu.h"
#include "codegen/gpu_collective.h"
#include "codegen/nccl.h"
#include "codegen/nvrtc.h"
#include "runtime/cache.h"

typedef int CUresult; /* CUDA_SUCCESS is 0 */
typedef int CUdevice;
typedef struct CUctx_st *CUcontext;
typedef struct CUmod_st *CUmodule;
typedef struct CUfunc_st *CUfunction;
typedef struct CUstream_st *CUstream;
typedef unsigned long long CUdeviceptr;

#define CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR 75
#define CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR 76

#define CU_API(X)                                                                                  \
    X(CUresult, cuInit, (unsigned))                                                                \
    X(CUresult, cuGetErrorString, (CUresult, const char **))                                       \
    X(CUresult, cuDeviceGetCount, (int *))                                                         \
    X(CUresult, cuDeviceGet, (CUdevice *, int))                                                    \
    X(CUresult, cuDeviceGetAttribute, (int *, int, CUdevice))                                      \
    X(CUresult, cuDevicePrimaryCtxRetain, (CUcontext *, CUdevice))                                 \
    X(CUresult, cuDevicePrimaryCtxRelease_v2, (CUdevice))                                          \
    X(CUresult, cuCtxSetCurrent, (CUcontext))                                                      \
    X(CUresult, cuCtxSynchronize, (void))                                                          \
    X(CUresult, cuModuleLoadData, (CUmodule *, const void *))                                      \
    X(CUresult, cuModuleUnload, (CUmodule))                                                        \
    X(CUresult, cuModuleGetFunction, (CUfunction *, CUmodule, const char *))                       \
    X(CUresult, cuMemAlloc_v2, (CUdeviceptr *, size_t))                                            \
    X(CUresult, cuMemFree_v2, (CUdeviceptr))                                                       \
    X(CUresult, cuMemcpyHtoD_v2, (CUdeviceptr, const void *, size_t))                              \
    X(CUresult, cuMemcpyDtoH_v2, (void *, CUdeviceptr, size_t))                                    \
    X(CUresult, cuMemcpyDtoD_v2, (CUdeviceptr, CUdeviceptr, size_t))                               \
    X(CUresult, cuLaunchKernel,                                                                    \
      (CUfunction, unsigned, unsigned, unsigned, unsigned, unsigned, unsigned, unsigned, CUstream, \
       void **, void **))

static struct {
#define FIELD(ret, name, args) ret(*name) args;
    CU_API(FIELD)
#undef FIELD
} api;
static int loaded; /* 1 loaded, -1 failed */
static char load_error[256];
static pthread_once_t load_once = PTHREAD_ONCE_INIT;

static void load(void)
{
    void *lib = dlopen("libcuda.so.1", RTLD_NOW | RTLD_LOCAL);
    if (!lib) {
        snprintf(load_error, sizeof load_error,
                 "libcuda.so.1 was not found: no NVIDIA driver on this machine");
        loaded = -1;
        return;
    }
    loaded = 1;
#define RESOLVE(ret, name, args)                                                                   \
    if (loaded == 1 && !mt_dl_sym(lib, "libcuda.so.1", #name, &api.name, sizeof api.name,          \
                                  load_error, sizeof load_error))                                  \
        loaded = -1;
    CU_API(RESOLVE)
#undef RESOLVE
    CUresult r = loaded == 1 ? api.cuInit(0) : 0;
    if (loaded == 1 && r != 0) {
        snprintf(load_error, sizeof load_error, "cuInit failed (error %d): no usable GPU", r);
        loaded = -1;
    }
}

static mt_status fail(mt_diag *d, const char *what, CUresult r)
{
    const char *s = NULL;
    if (loaded != 1 || api.cuGetErrorString(r, &s) != 0 || !s)
        s = "unknown error";
    return mt_diag_set(d, MT_ERR_BACKEND, "cuda: %s failed: %s (%d)", what, s, r);
}

typedef struct cu_dev {
    CUdevice dev;
    CUcontext ctx;
    char arch[16]; /* "sm_90" */
} cu_dev;

/* The context is current per thread, and a program may be run from any thread. */
static void make_current(void *handle) { api.cuCtxSetCurrent(((cu_dev *)handle)->ctx); }

static void cu_close(void *handle)
{
    cu_dev *v = handle;
    if (v && v->ctx)
        api.cuDevicePrimaryCtxRelease_v2(v->dev);
    mt_free(v);
}

static mt_status cu_open(void **out, mt_diag *d)
{
    *out = NULL;
    pthread_once(&load_once, load);
    if (loaded != 1)
        return mt_diag_set(d, MT_ERR_BACKEND, "cuda: %s", load_error);
    int n = 0;
    CUresult r = api.cuDeviceGetCount(&n);
    if (r != 0 || n == 0)
        return mt_diag_set(d, MT_ERR_BACKEND, "cuda: no CUDA device");
    const char *env = getenv("MTC_CUDA_DEVICE");
    long want = env && *env ? strtol(env, NULL, 10) : 0;
    /* Under mpirun, one GPU per rank of the node unless told otherwise (NCCL wants that). */
    const char *local = getenv("OMPI_COMM_WORLD_LOCAL_RANK");
    if (!(env && *env) && local && *local)
        want = strtol(local, NULL, 10) % n;
    if (want < 0 || want >= n)
        return mt_diag_set(d, MT_ERR_BACKEND,
                           "cuda: MTC_CUDA_DEVICE=%s but there are %d devices (0 to %d)", env, n,
                           n - 1);
    cu_dev *v = mt_calloc(1, sizeof *v);
    if (!v)
        return mt_diag_set(d, MT_ERR_NOMEM, "cuda: out of memory");
    int major = 0, minor = 0;
    mt_status st = MT_OK;
    if ((r = api.cuDeviceGet(&v->dev, (int)want)) != 0)
        st = fail(d, "cuDeviceGet", r);
    if (st == MT_OK) {
        api.cuDeviceGetAttribute(&major, CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR, v->dev);
        api.cuDeviceGetAttribute(&minor, CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR, v->dev);
        snprintf(v->arch, sizeof v->arch, "sm_%d%d", major, minor);
        if ((r = api.cuDevicePrimaryCtxRetain(&v->ctx, v->dev)) != 0)
            st = fail(d, "cuDevicePrimaryCtxRetain", r);
    }
    if (st == MT_OK && (r = api.cuCtxSetCurrent(v->ctx)) != 0)
        st = fail(d, "cuCtxSetCurrent", r);
    if (st != MT_OK) {
        cu_close(v);
        return st;
    }
    *out = v;
    return MT_OK;
}

/* The cubin of src for arch: from the kernel cache, else from NVRTC (then cached). */
static mt_status cubin_of(const char *src, const char *arch, void **code, size_t *size, mt_diag *d)
{
    const char *version = mt_nvrtc_version();
    const char *fields[3] = {"nvrtc-cubin", version ? version : "", arch};
    mt_cache_env env;
    mt_cache_env_init(&env, fields, 3);
    mt_cache_key key;
    mt_cache_key_make(&env, src, strlen(src), &key);
    if (mt_cache_load(&key, code, size))
        return MT_OK;
    mt_nvrtc_output o;
    mt_status st = mt_nvrtc_compile(src, arch, &o, d);
    if (st != MT_OK)
        return st;
    mt_cache_store(&key, o.code, o.size);
    *code = o.code;
    *size = o.size;
    o.code = NULL;
    mt_nvrtc_output_fini(&o);
    return MT_OK;
}

static void cu_unload(void *handle, void *module, int n, void **fns)
{
    (void)handle;
    (void)n;
    (void)fns; /* functions belong to the module */
    if (module)
        api.cuModuleUnload(module);
}

static mt_status cu_build(void *handle, const char *src, int n, const char *const *names,
                          void **module, void **fns, mt_diag *d)
{
    cu_dev *v = handle;
    make_current(handle);
    void *code = NULL;
    size_t size = 0;
    mt_status st = cubin_of(src, v->arch, &code, &size, d);
    if (st != MT_OK)
        return st;
    CUmodule mod = NULL;
    CUresult r = api.cuModuleLoadData(&mod, code);
    mt_free(code);
    if (r != 0)
        return fail(d, "cuModuleLoadData", r);
    *module = mod;
    for (int k = 0; k < n; k++) {
        CUfunction f = NULL;
        if ((r = api.cuModuleGetFunction(&f, mod, names[k])) != 0)
            return fail(d, "cuModuleGetFunction", r);
        fns[k] = f;
    }
    return MT_OK;
}

static mt_status cu_alloc(void *handle, size_t bytes, mt_gpu_mem *mem, mt_diag *d)
{
    make_current(handle);
    CUdeviceptr p = 0;
    CUresult r = api.cuMemAlloc_v2(&p, bytes);
    if (r != 0)
        return fail(d, "cuMemAlloc", r);
    *mem = (mt_gpu_mem)p;
    return MT_OK;
}

static mt_gpu_mem cu_at(mt_gpu_mem base, size_t offset) { return base + offset; }

static void cu_release(void *handle, mt_gpu_mem mem)
{
    (void)handle;
    api.cuMemFree_v2((CUdeviceptr)mem);
}

static mt_status cu_write(void *handle, mt_gpu_mem mem, const void *src, size_t bytes, mt_diag *d)
{
    make_current(handle);
    CUresult r = api.cuMemcpyHtoD_v2((CUdeviceptr)mem, src, bytes);
    return r == 0 ? MT_OK : fail(d, "cuMemcpyHtoD", r);
}

static mt_status cu_read(void *handle, mt_gpu_mem mem, void *dst, size_t bytes, mt_diag *d)
{
    make_current(handle);
    CUresult r = api.cuMemcpyDtoH_v2(dst, (CUdeviceptr)mem, bytes);
    return r == 0 ? MT_OK : fail(d, "cuMemcpyDtoH", r);
}

static mt_status cu_copy(void *handle, mt_gpu_mem dst, mt_gpu_mem src, size_t src_offset,
                         size_t bytes, mt_diag *d)
{
    make_current(handle);
    CUresult r = api.cuMemcpyDtoD_v2((CUdeviceptr)dst, (CUdeviceptr)src + src_offset, bytes);
    return r == 0 ? MT_OK : fail(d, "cuMemcpyDtoD", r);
}

#define BLOCK 256
/* The kernels stride over the grid, so capping the blocks keeps every launch complete. */
#define MAX_BLOCKS 4096

static mt_status cu_launch(void *handle, void *fn, int nargs, const mt_gpu_mem *args, int64_t items,
                           int group, mt_diag *d)
{
    make_current(handle);
    CUdeviceptr ptrs[64];
    void *params[64];
    if (nargs > 64)
        return mt_diag_set(d, MT_ERR_UNSUPPORTED, "cuda: a kernel with %d buffers (at most 64)",
                           nargs);
    for (int i = 0; i < nargs; i++) {
        ptrs[i] = (CUdeviceptr)args[i];
        params[i] = &ptrs[i];
    }
    unsigned block = group > 0 ? (unsigned)group : items > 1 ? BLOCK : 1;
    int64_t blocks = group > 0 ? items : (items + block - 1) / block;
    if (blocks > MAX_BLOCKS)
        blocks = MAX_BLOCKS;
    CUresult r = api.cuLaunchKernel(fn, (unsigned)blocks, 1, 1, block, 1, 1, 0, NULL, params, NULL);
    return r == 0 ? MT_OK : fail(d, "cuLaunchKernel", r);
}

static mt_status cu_finish(void *handle, mt_diag *d)
{
    make_current(handle);
    CUresult r = api.cuCtxSynchronize();
    return r == 0 ? MT_OK : fail(d, "cuCtxSynchronize", r);
}

/* allreduce through the host when NCCL is not wanted (gpu_collective.h); the copies on the
 * legacy default stream wait for the kernels before them. */
static mt_status cu_host_copy(void *handle, mt_gpu_mem mem, size_t offset, void *host, size_t bytes,
                              int to_device, mt_diag *d)
{
    make_current(handle);
    CUresult r = to_device ? api.cuMemcpyHtoD_v2((CUdeviceptr)mem + offset, host, bytes)
                           : api.cuMemcpyDtoH_v2(host, (CUdeviceptr)mem + offset, bytes);
    return r == 0 ? MT_OK : fail(d, to_device ? "cuMemcpyHtoD" : "cuMemcpyDtoH", r);
}

/* Under mpirun, NCCL on the stream the kernels run on (nccl.h): the launches pass NULL, the
 * legacy default stream, which the runtime API NCCL uses names cudaStreamLegacy (0x1) whatever
 * its own default-stream setting. */
#define CU_STREAM_LEGACY ((void *)0x1)

static mt_status cu_allreduce(void *handle, mt_gpu_mem mem, size_t offset, size_t count,
                              mt_dtype dt, int op, mt_diag *d)
{
    make_current(handle);
    if (mt_nccl_wanted())
        return mt_nccl_allreduce((void *)(uintptr_t)((CUdeviceptr)mem + offset), count, dt, op,
                                 CU_STREAM_LEGACY, d);
    return mt_gpu_allreduce_via_host(handle, cu_host_copy, mem, offset, count, dt, op, d);
}

const mt_gpu_ops mt_gpu_cuda = {
    .name = "cuda",
    .dialect = &mt_c_cuda,
    .open = cu_open,
    .close = cu_close,
    .build = cu_build,
    .unload = cu_unload,
    .alloc = cu_alloc,
    .at = cu_at,
    .release = cu_release,
    .write = cu_write,
    .read = cu_read,
    .copy = cu_copy,
    .launch = cu_launch,
    .finish = cu_finish,
    .allreduce = cu_allreduce,
};
