/* opencl.c - the OpenCL C dialect of the C-style renderer (render.h).
 *
 * OpenCL C 1.2: any conformant device, PoCL on a CPU included. Math functions are overloaded
 * on float and double; f64 needs cl_khr_fp64, enabled only in a program that uses it (the
 * reductions and matmuls of f32 graphs accumulate in f64, so most programs do). FP_CONTRACT
 * is off so that a*b+c is not fused into an fma the other backends do not use.
 */
#include "codegen/c/render.h"

const mt_c_dialect mt_c_opencl = {
    .name = "opencl",
    .prelude = "#pragma OPENCL FP_CONTRACT OFF\n",
    .fp64_prelude = "#pragma OPENCL EXTENSION cl_khr_fp64 : enable\n",
    .kernel = "__kernel void",
    .global = "__global ",
    .restrict_ = "restrict",
    .global_id = "(long)get_global_id(0)",
    .global_num = "(long)get_global_size(0)",
    .types = {"bool", "long", "uint", "ulong", "float", "double"},
    .i64_suffix = "L",
    .u64_suffix = "UL",
    .f32_math_suffix = 0,
    .mulhi = "mul_hi",
    .f32_bits = "as_float(0x%08xu)",
    .f64_bits = "as_double(0x%016llxUL)",
    .arena_temps = 1,
    .byte = "uchar",
    .local_id = "(long)get_local_id(0)",
    .group_id = "(long)get_group_id(0)",
    .group_num = "(long)get_num_groups(0)",
    .barrier = "barrier(CLK_LOCAL_MEM_FENCE)",
    .local = "__local ",
    .group_attr = "__attribute__((reqd_work_group_size(%d, 1, 1)))",
    .shfl_down = NULL,
    .warp = 0,
    .vec_load = "vload4(gv, b%d)",
    .vec_store = "vstore4(wb%d, gv, b%d)",
    .vec_align = 4,
};
