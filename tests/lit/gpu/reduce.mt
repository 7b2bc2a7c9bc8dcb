# Golden tests of group reductions (codegen/c/render_group.c): a row sum of 1031 elements gets
# a work-group of 256 per row, the partials meet in local memory by a fixed tree, and the
# result is stored by work-item 0; the row max carries lowering's NaN-propagating select into
# the tree. CUDA finishes the last 32 partials with warp shuffles in the same order. (The max
# reads -x: a max of x itself would share the sum's kernel, passes/fuse.c's sibling rule.)
# RUN: %mtc dump %s --stage opencl | FileCheck %s --check-prefix=CL
# RUN: %mtc dump %s --stage cuda | FileCheck %s --check-prefix=CU
# CL: /* k0: %s: sum */
# CL-NEXT: __kernel void __attribute__((reqd_work_group_size(256, 1, 1))) rows_k0(__global const float *restrict b0, __global float *restrict b1)
# CL-NEXT: {
# CL-NEXT:     __local double red_f64[256];
# CL-NEXT:     const long lid = (long)get_local_id(0);
# CL-NEXT:     for (long grp = (long)get_group_id(0); grp < 5; grp += (long)get_num_groups(0)) {
# CL-NEXT:         const long i0 = grp;
# CL-NEXT:         double s0 = 0.0;
# CL-NEXT:         s0 = lid == 0 ? s0 : 0.0;
# CL-NEXT:         for (long rj = lid; rj < 1031; rj += 256) {
# CL-NEXT:             const long i1 = rj;
# CL-NEXT:             s0 = s0 + ((double)b0[(i0 * 1031) + i1]);
# CL-NEXT:         }
# CL-NEXT:         red_f64[lid] = s0;
# CL-NEXT:         barrier(CLK_LOCAL_MEM_FENCE);
# CL-NEXT:         if (lid < 128) {
# CL-NEXT:             const double ra = red_f64[lid], rb = red_f64[lid + 128];
# CL-NEXT:             red_f64[lid] = ra + rb;
# CL-NEXT:         }
# CL-NEXT:         barrier(CLK_LOCAL_MEM_FENCE);
# CL:              if (lid < 1) {
# CL-NEXT:             const double ra = red_f64[lid], rb = red_f64[lid + 1];
# CL-NEXT:             red_f64[lid] = ra + rb;
# CL-NEXT:         }
# CL-NEXT:         barrier(CLK_LOCAL_MEM_FENCE);
# CL-NEXT:         s0 = red_f64[0];
# CL-NEXT:         barrier(CLK_LOCAL_MEM_FENCE);
# CL-NEXT:         float s1 = (float)s0;
# CL-NEXT:         if (lid == 0) {
# CL-NEXT:             b1[i0] = s1;
# CL-NEXT:         }
# CL-NEXT:     }
# CL-NEXT: }
# CL: /* k1: %m: neg max */
# CL:     __local float red_f32[256];
# CL:         float s0 = as_float(0xff800000u);
# CL-NEXT:         s0 = lid == 0 ? s0 : as_float(0xff800000u);
# CL:             const float ra = red_f32[lid], rb = red_f32[lid + 128];
# CL-NEXT:             red_f32[lid] = ((rb != rb) | (rb > ra)) ? rb : ra;
# CL-NOT: shfl
# CU: /* k0: %s: sum */
# CU-NEXT: extern "C" __global__ void __launch_bounds__(256) rows_k0(const float *__restrict__ b0, float *__restrict__ b1)
# CU-NEXT: {
# CU-NEXT:     __shared__ double red_f64[256];
# CU-NEXT:     const long long lid = ((long long)threadIdx.x);
# CU:              if (lid < 64) {
# CU:              __syncthreads();
# CU-NEXT:         if (lid < 32) {
# CU-NEXT:             const double ra = red_f64[lid], rb = red_f64[lid + 32];
# CU-NEXT:             red_f64[lid] = ra + rb;
# CU-NEXT:         }
# CU-NEXT:         if (lid < 32) {
# CU-NEXT:             double ra = red_f64[lid];
# CU-NEXT:             {
# CU-NEXT:                 const double rb = __shfl_down_sync(0xffffffffu, ra, 16);
# CU-NEXT:                 ra = ra + rb;
# CU-NEXT:             }
# CU:                  const double rb = __shfl_down_sync(0xffffffffu, ra, 1);
# CU-NEXT:                 ra = ra + rb;
# CU-NEXT:             }
# CU-NEXT:             if (lid == 0)
# CU-NEXT:                 red_f64[0] = ra;
# CU-NEXT:         }
# CU-NEXT:         __syncthreads();
# CU-NEXT:         s0 = red_f64[0];
# CU: /* k1: %m: neg max */
# CU:                  const float rb = __shfl_down_sync(0xffffffffu, ra, 16);
# CU-NEXT:                 ra = ((rb != rb) | (rb > ra)) ? rb : ra;
mtir 1
graph rows {
  input %x : f32[5,1031]
  %s = sum %x dim=1
  %n = neg %x
  %m = max %n dim=1
  output %s, %m
}
