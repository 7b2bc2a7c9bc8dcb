/* nvrtc.c - NVRTC through dlopen (nvrtc.h). The few entry points used are declared here as
 * nvrtc.h (CUDA 11 to 13) declares them, so building mtc needs no CUDA headers. */
#include "codegen/dl.h"
#include "codegen/nvrtc.h"

#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ir/alloc.h"

typedef struct _nvrtcProgram *nvrtcProgram;
typedef int nvrtcResult; /* NVRTC_SUCCESS is 0 */

#define NVRTC_API(X)                                                                               \
    X(nvrtcResult, nvrtcVersion, (int *, int *))                                                   \
    X(const char *, nvrtcGetErrorString, (nvrtcResult))                                            \
    X(nvrtcResult, nvrtcCreateProgram,                                                             \
      (nvrtcProgram *, const char *, const char *, int, const char *const *, const char *const *)) \
    X(nvrtcResult, nvrtcCompileProgram, (nvrtcProgram, int, const char *const *))                  \
    X(nvrtcResult, nvrtcGetProgramLogSize, (nvrtcProgram, size_t *))                               \
    X(nvrtcResult, nvrtcGetProgramLog, (nvrtcProgram, char *))                                     \
    X(nvrtcResult, nvrtcGetPTXSize, (nvrtcProgram, size_t *))                                      \
    X(nvrtcResult, nvrtcGetPTX, (nvrtcProgram, char *))                                            \
    X(nvrtcResult, nvrtcGetCUBINSize, (nvrtcProgram, size_t *))                                    \
    X(nvrtcResult, nvrtcGetCUBIN, (nvrtcProgram, char *))                                          \
    X(nvrtcResult, nvrtcDestroyProgram, (nvrtcProgram *))

static struct {
#define FIELD(ret, name, args) ret(*name) args;
    NVRTC_API(FIELD)
#undef FIELD
} api;
static int loaded; /* 1 loaded, -1 failed */
static char load_error[256], version[32];
static pthread_once_t load_once = PTHREAD_ONCE_INIT;

static void *open_lib(void)
{
    const char *off = getenv("MTC_NVRTC");
    if (off && !strcmp(off, "0")) /* as if no CUDA toolkit were installed */
        return NULL;
    const char *names[] = {"libnvrtc.so", "libnvrtc.so.13", "libnvrtc.so.12", "libnvrtc.so.11.2"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        void *lib = dlopen(names[i], RTLD_NOW | RTLD_LOCAL);
        if (lib)
            return lib;
    }
    const char *home = getenv("CUDA_HOME");
    const char *roots[] = {home && *home ? home : "/usr/local/cuda", "/usr/local/cuda"};
    for (size_t i = 0; i < 2; i++) {
        char path[512];
        snprintf(path, sizeof path, "%s/lib64/libnvrtc.so", roots[i]);
        void *lib = dlopen(path, RTLD_NOW | RTLD_LOCAL);
        if (lib)
            return lib;
    }
    return NULL;
}

static void load(void)
{
    void *lib = open_lib();
    if (!lib) {
        snprintf(load_error, sizeof load_error,
                 "libnvrtc.so was not found (install the CUDA toolkit, or set CUDA_HOME)");
        loaded = -1;
        return;
    }
    loaded = 1;
#define RESOLVE(ret, name, args)                                                                   \
    if (loaded == 1 && !mt_dl_sym(lib, "libnvrtc.so", #name, &api.name, sizeof api.name,           \
                                  load_error, sizeof load_error))                                  \
        loaded = -1;
    NVRTC_API(RESOLVE)
#undef RESOLVE
    int major = 0, minor = 0;
    if (loaded == 1 && api.nvrtcVersion(&major, &minor) == 0)
        snprintf(version, sizeof version, "NVRTC %d.%d", major, minor);
}

int mt_nvrtc_available(mt_diag *d)
{
    pthread_once(&load_once, load);
    if (loaded != 1)
        mt_diag_set(d, MT_ERR_BACKEND, "nvrtc: %s", load_error);
    return loaded == 1;
}

const char *mt_nvrtc_version(void) { return mt_nvrtc_available(NULL) ? version : NULL; }

void mt_nvrtc_output_fini(mt_nvrtc_output *o)
{
    mt_free(o->code);
    mt_free(o->log);
    memset(o, 0, sizeof *o);
}

static char *program_log(nvrtcProgram prog)
{
    size_t n = 0;
    if (api.nvrtcGetProgramLogSize(prog, &n) != 0)
        n = 0;
    char *log = mt_malloc(n + 1);
    if (!log)
        return NULL;
    if (n && api.nvrtcGetProgramLog(prog, log) != 0)
        n = 0;
    log[n] = 0;
    /* NVRTC's log of a silent compile is empty or a lone NUL/newline. */
    size_t len = strlen(log);
    while (len && (log[len - 1] == '\n' || log[len - 1] == ' '))
        log[--len] = 0;
    return log;
}

mt_status mt_nvrtc_compile(const char *src, const char *arch, mt_nvrtc_output *out, mt_diag *d)
{
    memset(out, 0, sizeof *out);
    if (!mt_nvrtc_available(d))
        return MT_ERR_BACKEND;
    int cubin = strncmp(arch, "sm_", 3) == 0;
    char opt_arch[64];
    snprintf(opt_arch, sizeof opt_arch, "--gpu-architecture=%s", arch);
    const char *opts[] = {opt_arch, "--fmad=false"};
    nvrtcProgram prog = NULL;
    nvrtcResult r = api.nvrtcCreateProgram(&prog, src, "mtc.cu", 0, NULL, NULL);
    if (r != 0)
        return mt_diag_set(d, MT_ERR_BACKEND, "nvrtc: nvrtcCreateProgram: %s",
                           api.nvrtcGetErrorString(r));
    r = api.nvrtcCompileProgram(prog, 2, opts);
    out->log = program_log(prog);
    mt_status st = out->log ? MT_OK : mt_diag_set(d, MT_ERR_NOMEM, "nvrtc: out of memory");
    if (st == MT_OK && r != 0) {
        st = mt_diag_set(d, MT_ERR_BACKEND,
                         "nvrtc: the kernels did not compile for %s (%s; the "
                         "log follows)",
                         arch, api.nvrtcGetErrorString(r));
        if (d && d->status == st) {
            mt_free(d->log);
            d->log = out->log;
            out->log = NULL;
        }
    }
    size_t n = 0;
    if (st == MT_OK)
        r = cubin ? api.nvrtcGetCUBINSize(prog, &n) : api.nvrtcGetPTXSize(prog, &n);
    if (st == MT_OK && r != 0)
        st = mt_diag_set(d, MT_ERR_BACKEND, "nvrtc: no %s: %s", cubin ? "cubin" : "PTX",
                         api.nvrtcGetErrorString(r));
    if (st == MT_OK && !(out->code = mt_malloc(n + 1)))
        st = mt_diag_set(d, MT_ERR_NOMEM, "nvrtc: out of memory");
    if (st == MT_OK) {
        r = cubin ? api.nvrtcGetCUBIN(prog, out->code) : api.nvrtcGetPTX(prog, out->code);
        out->code[n] = 0;
        out->size = cubin ? n : strlen(out->code);
        if (r != 0)
            st = mt_diag_set(d, MT_ERR_BACKEND, "nvrtc: reading the %s: %s",
                             cubin ? "cubin" : "PTX", api.nvrtcGetErrorString(r));
    }
    api.nvrtcDestroyProgram(&prog);
    if (st != MT_OK)
        mt_nvrtc_output_fini(out);
    return st;
}
