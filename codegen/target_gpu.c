/* target_gpu.c - the "cuda" and "opencl" targets: codegen/gpu.h behind codegen/target.h.
 *
 * Both keep params and state on the device: the program API calls upload after it stores a
 * value and download before it reads one (target.h). */
#include "codegen/gpu.h"
#include "codegen/target.h"

static mt_status compile_opencl(const mt_graph *g, void **impl, mt_diag *d)
{
    mt_gpu_program *p = NULL;
    mt_status st = mt_gpu_compile(&mt_gpu_opencl, g, &p, d);
    *impl = p;
    return st;
}

static mt_status compile_cuda(const mt_graph *g, void **impl, mt_diag *d)
{
    mt_gpu_program *p = NULL;
    mt_status st = mt_gpu_compile(&mt_gpu_cuda, g, &p, d);
    *impl = p;
    return st;
}

static mt_status run(void *impl, const void *const *leaves, void *const *outputs, mt_diag *d)
{
    return mt_gpu_run(impl, leaves, outputs, d);
}

static mt_status upload(void *impl, int node, const void *data, mt_diag *d)
{
    return mt_gpu_upload(impl, node, data, d);
}

static mt_status download(void *impl, int node, void *data, mt_diag *d)
{
    return mt_gpu_download(impl, node, data, d);
}

static void free_impl(void *impl) { mt_gpu_free(impl); }

const mt_target mt_target_cuda = {
    .name = "cuda",
    .doc = "NVRTC kernels on an NVIDIA GPU (CUDA driver API)",
    .compile = compile_cuda,
    .run = run,
    .free = free_impl,
    .upload = upload,
    .download = download,
};

const mt_target mt_target_opencl = {
    .name = "opencl",
    .doc = "OpenCL C kernels on any OpenCL 1.2 device (PoCL on a CPU included)",
    .compile = compile_opencl,
    .run = run,
    .free = free_impl,
    .upload = upload,
    .download = download,
};
