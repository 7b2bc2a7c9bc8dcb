/* cuda.c - the CUDA C++ dialect of the C-style renderer (render.h), as NVRTC compiles it.
 *
 * Kernels are extern "C" so their names are the symbols cuModuleGetFunction looks up. NVRTC
 * declares the math functions itself (expf for float, exp for double), and the index and bit
 * intrinsics (__umulhi, __int_as_float, __longlong_as_double), so the translation unit
 * includes nothing. Contraction into fma is NVRTC's default (--fmad=true); the runtime turns
 * it off (codegen/nvrtc.c) so results follow the kernel IR's roundings. Group reductions
 * (render_group.c) finish each warp's last 5 levels with __shfl_down_sync, which adds in the
 * same order as the shared-memory tree of the OpenCL dialect.
 */
#include "codegen/c/render.h"

const mt_c_dialect mt_c_cuda = {
    .name = "cuda",
    .prelude = "",
    .fp64_prelude = "",
    .kernel = "extern \"C\" __global__ void",
    .global = "",
    .restrict_ = "__restrict__",
    .global_id = "((long long)blockIdx.x * blockDim.x + threadIdx.x)",
    .global_num = "((long long)gridDim.x * blockDim.x)",
    .types = {"bool", "long long", "unsigned int", "unsigned long long", "float", "double"},
    .i64_suffix = "LL",
    .u64_suffix = "ULL",
    .f32_math_suffix = 1,
    .mulhi = "__umulhi",
    .f32_bits = "__int_as_float((int)0x%08xu)",
    .f64_bits = "__longlong_as_double((long long)0x%016llxULL)",
    .arena_temps = 0,
    .byte = "unsigned char",
    .local_id = "((long long)threadIdx.x)",
    .group_id = "((long long)blockIdx.x)",
    .group_num = "((long long)gridDim.x)",
    .barrier = "__syncthreads()",
    .local = "__shared__ ",
    .group_attr = "__launch_bounds__(%d)",
    .shfl_down = "__shfl_down_sync(0xffffffffu, %s, %d)",
    .warp = 32,
    .vec_load = "reinterpret_cast<const float4 *>(b%d)[gv]",
    .vec_store = "reinterpret_cast<float4 *>(b%d)[gv] = wb%d",
    .vec_align = 16,
};
