/* gpu.h - the GPU targets' common half: schedule, render, buffers, launches (codegen/gpu.c).
 *
 * A GPU program is the graph's kernel program (passes/schedule.h, with the GPU target
 * description below) rendered as one translation unit in a dialect of the C-style renderer
 * (codegen/c/render.h) and run through a device API behind mt_gpu_ops: OpenCL
 * (codegen/opencl.c) or the CUDA driver API with NVRTC (codegen/cuda.c). Both APIs are
 * loaded with dlopen at run time, so mtc builds and runs where neither is installed; compiling
 * for a target whose library or device is absent is then MT_ERR_BACKEND with a message that
 * says what is missing.
 *
 * Memory (docs/gpu.md): inputs, outputs, params and state have device buffers of their own;
 * temporaries share one arena at the offsets memory planning chose (which may overlap where
 * the plan stores a value over an operand it replaces), reached through a pointer into it
 * where the API has one (CUDA: `at`), else through the kernels' arena parameter (OpenCL,
 * render.h: arena_temps).
 * A run copies each input to the device, launches every kernel in order, applies the step
 * graph's updates on the device (a device-to-device copy where the update was not stored in
 * place) and copies the outputs back. Params and state stay on the device between runs: the
 * program API copies them up after they are set (mt_gpu_upload) and down before they are read
 * (mt_gpu_download), never per run.
 */
#ifndef MT_CODEGEN_GPU_H
#define MT_CODEGEN_GPU_H

#include <stddef.h>
#include <stdint.h>

#include "codegen/c/render.h"
#include "ir/graph.h"
#include "passes/target.h"

/* A device buffer: a cl_mem or a CUdeviceptr. */
typedef uintptr_t mt_gpu_mem;

/* A device API. Every call that can fail returns a status with d set ("opencl: ..."). */
typedef struct mt_gpu_ops {
    const char *name; /* the target's: "cuda", "opencl" */
    const mt_c_dialect *dialect;
    /* Loads the API's library and opens its first device. */
    mt_status (*open)(void **dev, mt_diag *d);
    void (*close)(void *dev);
    /* Compiles the translation unit src and looks up the n kernels named names[k] (fns[k]);
     * a compile error puts the compiler's log in d->log. */
    mt_status (*build)(void *dev, const char *src, int n, const char *const *names, void **module,
                       void **fns, mt_diag *d);
    void (*unload)(void *dev, void *module, int n, void **fns);
    mt_status (*alloc)(void *dev, size_t bytes, mt_gpu_mem *mem, mt_diag *d);
    /* The buffer at byte `offset` of `base`; NULL when the API cannot point into a buffer
     * (the dialect must then have arena_temps). */
    mt_gpu_mem (*at)(mt_gpu_mem base, size_t offset);
    void (*release)(void *dev, mt_gpu_mem mem);
    /* Copies; they may complete asynchronously, in order, until finish. Host memory must stay
     * valid until then. */
    mt_status (*write)(void *dev, mt_gpu_mem mem, const void *src, size_t bytes, mt_diag *d);
    mt_status (*read)(void *dev, mt_gpu_mem mem, void *dst, size_t bytes, mt_diag *d);
    mt_status (*copy)(void *dev, mt_gpu_mem dst, mt_gpu_mem src, size_t src_offset, size_t bytes,
                      mt_diag *d);
    /* Runs kernel fn over `items` work-items (mt_c_kernel_items) with one buffer per
     * parameter; in groups of exactly `group` work-items when group > 0 (then `items` counts
     * groups: mt_c_kernel_group), else of the API's choice. */
    mt_status (*launch)(void *dev, void *fn, int nargs, const mt_gpu_mem *args, int64_t items,
                        int group, mt_diag *d);
    /* Waits for everything enqueued. */
    mt_status (*finish)(void *dev, mt_diag *d);
    /* The `allreduce` op: reduces `count` values of dt at byte `offset` of mem across the
     * ranks, in place, with op (MT_REDUCE_SUM or MT_REDUCE_MEAN), ordered after the kernels
     * enqueued before it (codegen/gpu_collective.c). NULL: the target refuses allreduce. */
    mt_status (*allreduce)(void *dev, mt_gpu_mem mem, size_t offset, size_t count, mt_dtype dt,
                           int op, mt_diag *d);
} mt_gpu_ops;

extern const mt_gpu_ops mt_gpu_opencl; /* codegen/opencl.c */
extern const mt_gpu_ops mt_gpu_cuda;   /* codegen/cuda.c */

/* The GPU targets' description (codegen/gpu_desc.c): plain-loop matmuls, long reductions
 * split into partial sums. Static; never freed. */
const mt_target_desc *mt_target_desc_gpu(void);

typedef struct mt_gpu_program mt_gpu_program;

/* Compiles g (borrowed for the call; simplified by the default pipeline first, as the cpu
 * target does) for the device of `ops`. *out is NULL on failure. */
mt_status mt_gpu_compile(const mt_gpu_ops *ops, const mt_graph *g, mt_gpu_program **out,
                         mt_diag *d);
/* One run (codegen/target.h): `leaves` by node id of the graph given to mt_gpu_compile (only
 * the inputs' are read: params and state are on the device), `outputs` one per graph
 * output. */
mt_status mt_gpu_run(mt_gpu_program *p, const void *const *leaves, void *const *outputs,
                     mt_diag *d);
/* Copies the value of param or state `node` (a node id of the compiled graph) to the device,
 * or back. A leaf no kernel uses has no device copy: both are no-ops for it. */
mt_status mt_gpu_upload(mt_gpu_program *p, int node, const void *data, mt_diag *d);
mt_status mt_gpu_download(mt_gpu_program *p, int node, void *data, mt_diag *d);
void mt_gpu_free(mt_gpu_program *p);

/* `mtc dump --stage cuda|opencl`: the optimized graph g's kernel program, scheduled for the
 * GPU, as one translation unit of dialect dl. The caller frees it; NULL with d set. */
char *mt_gpu_dump_source(const mt_c_dialect *dl, const mt_graph *g, mt_diag *d);

#endif
