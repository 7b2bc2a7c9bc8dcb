/* gpu_desc.c - the target description of the GPU targets (cuda, opencl; passes/target.h).
 *
 *   has_gemm 1            matmuls are GEMM statements, which the renderer turns into a tiled
 *                         local-memory kernel with the fused epilogue (codegen/c/render_gemm.c)
 *   im2col 256 MiB        convolutions whose patch matrices fit go through the same GEMM
 *                         (passes/lower_conv.c), larger ones keep the direct loops
 *   parallel_min_trip 256 leading parallel axes with fewer iterations are merged, and a
 *                         reduction with fewer than 256 results ...
 *   split 4096 / 256      ... over at least 4096 elements each is computed as 256 partial sums
 *                         in parallel, then combined: a fixed number of chunks, so results do
 *                         not depend on the device or the launch
 *   has_local             groups share memory (GPU shared or OpenCL local memory); 48 KiB is
 *                         what every CUDA device since sm_20 and most OpenCL GPUs offer. The
 *                         renderer does not use it yet (docs/gpu.md)
 * The executor's thresholds (min_parallel_work, min_gemm_macs, gemm_rows) are the CPU
 * executor's and do not apply: a GPU launch runs every kernel over the whole grid.
 */
#include "codegen/gpu.h"

static const mt_target_desc gpu = {
    .name = "gpu",
    .vector_bytes = 4,
    .parallel = 1,
    .parallel_min_trip = 256,
    .split_min = 4096,
    .split_chunks = 256,
    .has_gemm = 1,
    .im2col_max_bytes = (int64_t)256 << 20,
    .gemm_rows = 1,
    .min_parallel_work = 0,
    .min_gemm_macs = 0,
    .has_local = 1,
    .local_bytes = 48 * 1024,
};

const mt_target_desc *mt_target_desc_gpu(void) { return &gpu; }
