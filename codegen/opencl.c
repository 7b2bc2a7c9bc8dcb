/* opencl.c - the OpenCL device API behind mt_gpu_ops (gpu.h), loaded with dlopen.
 *
 * libOpenCL.so.1 (the ICD loader) is opened at run time, so mtc neither links nor needs it to
 * build; the few entry points and constants used are declared here from the OpenCL 1.2
 * specification, so no OpenCL headers are needed either. The first device of the first
 * platform that has one is used (MTC_OPENCL_DEVICE=N picks the N-th device over all platforms,
 * from 0). Each program has its own context and in-order queue; copies are enqueued without
 * blocking and completed by finish (gpu.c calls it at the end of every run).
 */
#include <dirent.h>
#include <dlfcn.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codegen/dl.h"
#include "codegen/gpu.h"
#include "codegen/gpu_collective.h"

/* ---- the API, as the OpenCL 1.2 specification declares it ----------------------------- */

typedef int32_t cl_int;
typedef uint32_t cl_uint;
typedef uint64_t cl_ulong;
typedef cl_ulong cl_bitfield;
typedef struct _cl_platform_id *cl_platform_id;
typedef struct _cl_device_id *cl_device_id;
typedef struct _cl_context *cl_context;
typedef struct _cl_command_queue *cl_command_queue;
typedef struct _cl_mem *cl_mem;
typedef struct _cl_program *cl_program;
typedef struct _cl_kernel *cl_kernel;
typedef struct _cl_event *cl_event;

#define CL_SUCCESS 0
#define CL_DEVICE_TYPE_ALL 0xFFFFFFFFu
#define CL_DEVICE_NAME 0x102B
#define CL_DEVICE_MAX_WORK_GROUP_SIZE 0x1004
#define CL_DEVICE_EXTENSIONS 0x1030
#define CL_MEM_READ_WRITE (1u << 0)
#define CL_PROGRAM_BUILD_LOG 0x1183
#define CL_FALSE 0u
#define CL_TRUE 1u

#define CL_API(X)                                                                                  \
    X(cl_int, clGetPlatformIDs, (cl_uint, cl_platform_id *, cl_uint *))                            \
    X(cl_int, clGetDeviceIDs, (cl_platform_id, cl_bitfield, cl_uint, cl_device_id *, cl_uint *))   \
    X(cl_int, clGetDeviceInfo, (cl_device_id, cl_uint, size_t, void *, size_t *))                  \
    X(cl_context, clCreateContext,                                                                 \
      (const intptr_t *, cl_uint, const cl_device_id *, void *, void *, cl_int *))                 \
    X(cl_command_queue, clCreateCommandQueue, (cl_context, cl_device_id, cl_bitfield, cl_int *))   \
    X(cl_program, clCreateProgramWithSource,                                                       \
      (cl_context, cl_uint, const char **, const size_t *, cl_int *))                              \
    X(cl_int, clBuildProgram,                                                                      \
      (cl_program, cl_uint, const cl_device_id *, const char *, void *, void *))                   \
    X(cl_int, clGetProgramBuildInfo,                                                               \
      (cl_program, cl_device_id, cl_uint, size_t, void *, size_t *))                               \
    X(cl_kernel, clCreateKernel, (cl_program, const char *, cl_int *))                             \
    X(cl_int, clSetKernelArg, (cl_kernel, cl_uint, size_t, const void *))                          \
    X(cl_int, clEnqueueNDRangeKernel,                                                              \
      (cl_command_queue, cl_kernel, cl_uint, const size_t *, const size_t *, const size_t *,       \
       cl_uint, const cl_event *, cl_event *))                                                     \
    X(cl_mem, clCreateBuffer, (cl_context, cl_bitfield, size_t, void *, cl_int *))                 \
    X(cl_int, clEnqueueWriteBuffer,                                                                \
      (cl_command_queue, cl_mem, cl_uint, size_t, size_t, const void *, cl_uint, const cl_event *, \
       cl_event *))                                                                                \
    X(cl_int, clEnqueueReadBuffer,                                                                 \
      (cl_command_queue, cl_mem, cl_uint, size_t, size_t, void *, cl_uint, const cl_event *,       \
       cl_event *))                                                                                \
    X(cl_int, clEnqueueCopyBuffer,                                                                 \
      (cl_command_queue, cl_mem, cl_mem, size_t, size_t, size_t, cl_uint, const cl_event *,        \
       cl_event *))                                                                                \
    X(cl_int, clFinish, (cl_command_queue))                                                        \
    X(cl_int, clReleaseMemObject, (cl_mem))                                                        \
    X(cl_int, clReleaseKernel, (cl_kernel))                                                        \
    X(cl_int, clReleaseProgram, (cl_program))                                                      \
    X(cl_int, clReleaseCommandQueue, (cl_command_queue))                                           \
    X(cl_int, clReleaseContext, (cl_context))

typedef struct cl_api {
#define FIELD(ret, name, args) ret(*name) args;
    CL_API(FIELD)
#undef FIELD
} cl_api;

/* The library, opened once per process and never closed (drivers do not like being
 * unloaded); NULL when it could not be opened, with why in load_error. */
static cl_api api;
static int loaded; /* 1 loaded, -1 failed */
static char load_error[256];
static pthread_once_t load_once = PTHREAD_ONCE_INIT;

/* Opens every driver the ICD loader would (the libraries that the .icd files of /etc/OpenCL/vendors
 * name) before it does, with RTLD_DEEPBIND: a driver that links its own LLVM (PoCL links LLVM 15)
 * must resolve LLVM's C++ symbols within itself, not against the LLVM 14 that mtc itself
 * links and that is already in the global scope; an unversioned weak symbol (a template's
 * vtable) would otherwise bind to mtc's LLVM and crash inside the driver's compiler. The
 * ICD loader's own dlopen of the same library then finds it loaded. OCL_ICD_VENDORS, when
 * set, names the directory instead. */
static void preload_drivers(void)
{
    const char *dir = getenv("OCL_ICD_VENDORS");
    if (!dir || !*dir)
        dir = "/etc/OpenCL/vendors";
    DIR *dp = opendir(dir);
    if (!dp)
        return;
    struct dirent *e;
    while ((e = readdir(dp)) != NULL) {
        size_t n = strlen(e->d_name);
        if (n < 5 || strcmp(e->d_name + n - 4, ".icd") != 0)
            continue;
        char path[1024], name[1024];
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        FILE *f = fopen(path, "r");
        if (!f)
            continue;
        if (fgets(name, sizeof name, f)) {
            name[strcspn(name, "\r\n")] = 0;
            if (name[0])
                dlopen(name, RTLD_NOW | RTLD_LOCAL | RTLD_DEEPBIND);
        }
        fclose(f);
    }
    closedir(dp);
}

static void load(void)
{
    const char *off = getenv("MTC_OPENCL");
    if (off && !strcmp(off, "0")) { /* as if no OpenCL were installed */
        snprintf(load_error, sizeof load_error, "OpenCL is switched off (MTC_OPENCL=0)");
        loaded = -1;
        return;
    }
    preload_drivers();
    void *lib = dlopen("libOpenCL.so.1", RTLD_NOW | RTLD_LOCAL);
    if (!lib)
        lib = dlopen("libOpenCL.so", RTLD_NOW | RTLD_LOCAL);
    if (!lib) {
        snprintf(load_error, sizeof load_error,
                 "libOpenCL.so.1 was not found: install an OpenCL ICD loader and a driver "
                 "(Debian: ocl-icd-libopencl1 and pocl-opencl-icd)");
        loaded = -1;
        return;
    }
    loaded = 1;
#define RESOLVE(ret, name, args)                                                                   \
    if (loaded == 1 && !mt_dl_sym(lib, "libOpenCL.so.1", #name, &api.name, sizeof api.name,        \
                                  load_error, sizeof load_error))                                  \
        loaded = -1;
    CL_API(RESOLVE)
#undef RESOLVE
}

/* ---- devices --------------------------------------------------------------------------- */

typedef struct cl_dev {
    cl_device_id id;
    cl_context ctx;
    cl_command_queue q;
    size_t local; /* work-items per group */
    char name[128];
} cl_dev;

static mt_status fail(mt_diag *d, const char *what, cl_int err)
{
    return mt_diag_set(d, MT_ERR_BACKEND, "opencl: %s failed (error %d)", what, (int)err);
}

/* The device: the MTC_OPENCL_DEVICE-th of all platforms' devices, by default the first. */
static mt_status pick_device(cl_device_id *out, mt_diag *d)
{
    cl_platform_id plats[16];
    cl_uint nplat = 0;
    cl_int err = api.clGetPlatformIDs(16, plats, &nplat);
    if (err != CL_SUCCESS || nplat == 0)
        return mt_diag_set(d, MT_ERR_BACKEND,
                           "opencl: no OpenCL platform (install a driver, e.g. Debian's "
                           "pocl-opencl-icd)");
    const char *env = getenv("MTC_OPENCL_DEVICE");
    long want = env && *env ? strtol(env, NULL, 10) : 0, seen = 0;
    for (cl_uint i = 0; i < nplat && i < 16; i++) {
        cl_device_id devs[16];
        cl_uint ndev = 0;
        if (api.clGetDeviceIDs(plats[i], CL_DEVICE_TYPE_ALL, 16, devs, &ndev) != CL_SUCCESS)
            continue;
        for (cl_uint k = 0; k < ndev && k < 16; k++, seen++)
            if (seen == want) {
                *out = devs[k];
                return MT_OK;
            }
    }
    if (seen == 0)
        return mt_diag_set(d, MT_ERR_BACKEND, "opencl: no OpenCL device");
    return mt_diag_set(d, MT_ERR_BACKEND,
                       "opencl: MTC_OPENCL_DEVICE=%s but there are %ld devices (0 to %ld)", env,
                       seen, seen - 1);
}

static void cl_close(void *handle)
{
    cl_dev *v = handle;
    if (!v)
        return;
    if (v->q)
        api.clReleaseCommandQueue(v->q);
    if (v->ctx)
        api.clReleaseContext(v->ctx);
    mt_free(v);
}

static mt_status cl_open(void **out, mt_diag *d)
{
    *out = NULL;
    pthread_once(&load_once, load);
    if (loaded != 1)
        return mt_diag_set(d, MT_ERR_BACKEND, "opencl: %s", load_error);
    cl_dev *v = mt_calloc(1, sizeof *v);
    if (!v)
        return mt_diag_set(d, MT_ERR_NOMEM, "opencl: out of memory");
    mt_status st = pick_device(&v->id, d);
    cl_int err = CL_SUCCESS;
    if (st == MT_OK) {
        api.clGetDeviceInfo(v->id, CL_DEVICE_NAME, sizeof v->name - 1, v->name, NULL);
        size_t max = 0;
        api.clGetDeviceInfo(v->id, CL_DEVICE_MAX_WORK_GROUP_SIZE, sizeof max, &max, NULL);
        v->local = max >= 64 || max == 0 ? 64 : max;
        v->ctx = api.clCreateContext(NULL, 1, &v->id, NULL, NULL, &err);
        if (!v->ctx)
            st = fail(d, "clCreateContext", err);
    }
    if (st == MT_OK && !(v->q = api.clCreateCommandQueue(v->ctx, v->id, 0, &err)))
        st = fail(d, "clCreateCommandQueue", err);
    if (st != MT_OK) {
        cl_close(v);
        return st;
    }
    *out = v;
    return MT_OK;
}

/* ---- programs -------------------------------------------------------------------------- */

static void cl_unload(void *handle, void *module, int n, void **fns)
{
    (void)handle;
    for (int k = 0; fns && k < n; k++)
        if (fns[k])
            api.clReleaseKernel(fns[k]);
    if (module)
        api.clReleaseProgram(module);
}

/* The build log of prog, into d->log. */
static void build_log(cl_dev *v, cl_program prog, mt_diag *d)
{
    size_t n = 0;
    if (api.clGetProgramBuildInfo(prog, v->id, CL_PROGRAM_BUILD_LOG, 0, NULL, &n) != CL_SUCCESS)
        return;
    char *log = mt_malloc(n + 1);
    if (!log)
        return;
    if (api.clGetProgramBuildInfo(prog, v->id, CL_PROGRAM_BUILD_LOG, n, log, NULL) != CL_SUCCESS)
        n = 0;
    log[n] = 0;
    mt_free(d->log);
    d->log = log;
}

static mt_status cl_build(void *handle, const char *src, int n, const char *const *names,
                          void **module, void **fns, mt_diag *d)
{
    cl_dev *v = handle;
    cl_int err = CL_SUCCESS;
    size_t len = strlen(src);
    cl_program prog = api.clCreateProgramWithSource(v->ctx, 1, &src, &len, &err);
    if (!prog)
        return fail(d, "clCreateProgramWithSource", err);
    *module = prog;
    /* No options: the source says everything (render.h), as `mtc dump --stage opencl` shows. */
    err = api.clBuildProgram(prog, 1, &v->id, "", NULL, NULL);
    if (err != CL_SUCCESS) {
        mt_status st = mt_diag_set(d, MT_ERR_BACKEND,
                                   "opencl: the kernels did not build for %s (error %d; the "
                                   "build log follows)",
                                   v->name, (int)err);
        if (d && d->status == st)
            build_log(v, prog, d);
        return st;
    }
    for (int k = 0; k < n; k++)
        if (!(fns[k] = api.clCreateKernel(prog, names[k], &err)))
            return mt_diag_set(d, MT_ERR_BACKEND, "opencl: clCreateKernel %s failed (error %d)",
                               names[k], (int)err);
    return MT_OK;
}

/* ---- memory and launches --------------------------------------------------------------- */

static mt_status cl_alloc(void *handle, size_t bytes, mt_gpu_mem *mem, mt_diag *d)
{
    cl_dev *v = handle;
    cl_int err = CL_SUCCESS;
    cl_mem m = api.clCreateBuffer(v->ctx, CL_MEM_READ_WRITE, bytes, NULL, &err);
    if (!m)
        return mt_diag_set(d, MT_ERR_BACKEND,
                           "opencl: clCreateBuffer of %zu bytes failed on %s (error %d)", bytes,
                           v->name, (int)err);
    *mem = (mt_gpu_mem)m;
    return MT_OK;
}

static void cl_release(void *handle, mt_gpu_mem mem)
{
    (void)handle;
    api.clReleaseMemObject((cl_mem)mem);
}

static mt_status cl_write(void *handle, mt_gpu_mem mem, const void *src, size_t bytes, mt_diag *d)
{
    cl_dev *v = handle;
    cl_int err =
        api.clEnqueueWriteBuffer(v->q, (cl_mem)mem, CL_FALSE, 0, bytes, src, 0, NULL, NULL);
    return err == CL_SUCCESS ? MT_OK : fail(d, "clEnqueueWriteBuffer", err);
}

static mt_status cl_read(void *handle, mt_gpu_mem mem, void *dst, size_t bytes, mt_diag *d)
{
    cl_dev *v = handle;
    cl_int err = api.clEnqueueReadBuffer(v->q, (cl_mem)mem, CL_FALSE, 0, bytes, dst, 0, NULL, NULL);
    return err == CL_SUCCESS ? MT_OK : fail(d, "clEnqueueReadBuffer", err);
}

static mt_status cl_copy(void *handle, mt_gpu_mem dst, mt_gpu_mem src, size_t src_offset,
                         size_t bytes, mt_diag *d)
{
    cl_dev *v = handle;
    cl_int err = api.clEnqueueCopyBuffer(v->q, (cl_mem)src, (cl_mem)dst, src_offset, 0, bytes, 0,
                                         NULL, NULL);
    return err == CL_SUCCESS ? MT_OK : fail(d, "clEnqueueCopyBuffer", err);
}

/* At most this many groups: the kernels stride over the grid, so a capped launch is still
 * complete, and fewer, fuller groups cost less to schedule on a CPU device. */
#define MAX_GROUPS 256

static mt_status cl_launch(void *handle, void *fn, int nargs, const mt_gpu_mem *args, int64_t items,
                           int group, mt_diag *d)
{
    cl_dev *v = handle;
    for (int i = 0; i < nargs; i++) {
        cl_mem m = (cl_mem)args[i];
        cl_int err = api.clSetKernelArg(fn, (cl_uint)i, sizeof m, &m);
        if (err != CL_SUCCESS)
            return fail(d, "clSetKernelArg", err);
    }
    size_t local = group > 0 ? (size_t)group : items > 1 ? v->local : 1;
    size_t groups =
        group > 0 ? (size_t)items : (size_t)((items + (int64_t)local - 1) / (int64_t)local);
    if (groups > MAX_GROUPS)
        groups = MAX_GROUPS;
    size_t global = groups * local;
    cl_int err = api.clEnqueueNDRangeKernel(v->q, fn, 1, NULL, &global, &local, 0, NULL, NULL);
    return err == CL_SUCCESS ? MT_OK : fail(d, "clEnqueueNDRangeKernel", err);
}

static mt_status cl_finish(void *handle, mt_diag *d)
{
    cl_dev *v = handle;
    cl_int err = api.clFinish(v->q);
    return err == CL_SUCCESS ? MT_OK : fail(d, "clFinish", err);
}

/* allreduce goes through the host (gpu_collective.h): blocking copies, so the hook sees the
 * value the kernels before it stored, and the kernels after it see the reduced one. */
static mt_status cl_host_copy(void *handle, mt_gpu_mem mem, size_t offset, void *host, size_t bytes,
                              int to_device, mt_diag *d)
{
    cl_dev *v = handle;
    cl_int err = to_device ? api.clEnqueueWriteBuffer(v->q, (cl_mem)mem, CL_TRUE, offset, bytes,
                                                      host, 0, NULL, NULL)
                           : api.clEnqueueReadBuffer(v->q, (cl_mem)mem, CL_TRUE, offset, bytes,
                                                     host, 0, NULL, NULL);
    return err == CL_SUCCESS
               ? MT_OK
               : fail(d, to_device ? "clEnqueueWriteBuffer" : "clEnqueueReadBuffer", err);
}

static mt_status cl_allreduce(void *handle, mt_gpu_mem mem, size_t offset, size_t count,
                              mt_dtype dt, int op, mt_diag *d)
{
    return mt_gpu_allreduce_via_host(handle, cl_host_copy, mem, offset, count, dt, op, d);
}

const mt_gpu_ops mt_gpu_opencl = {
    .name = "opencl",
    .dialect = &mt_c_opencl,
    .open = cl_open,
    .close = cl_close,
    .build = cl_build,
    .unload = cl_unload,
    .alloc = cl_alloc,
    .at = NULL,
    .release = cl_release,
    .write = cl_write,
    .read = cl_read,
    .copy = cl_copy,
    .launch = cl_launch,
    .finish = cl_finish,
    .allreduce = cl_allreduce,
};
