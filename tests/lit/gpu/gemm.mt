# Golden tests of the tiled GEMM (codegen/c/render_gemm.c): matmul + bias + relu on awkward
# sizes. A group of 256 work-items per 16x16 tile of C (C has fewer than 2^16 elements: one
# sum per work-item), K in slices of 16 through local memory (zero past the edges), then each
# work-item stores its element and runs the fused epilogue on it. CUDA: the same source with
# __shared__, __syncthreads and __launch_bounds__.
# RUN: %mtc dump %s --stage opencl | FileCheck %s --check-prefix=CL
# RUN: %mtc dump %s --stage cuda | FileCheck %s --check-prefix=CU
# CL: /* k0: %r: matmul add relu */
# CL-NEXT: __kernel void __attribute__((reqd_work_group_size(256, 1, 1))) mm_k0(__global const float *restrict b0, __global const float *restrict b1, __global const float *restrict b2, __global float *restrict b3)
# CL-NEXT: {
# CL-NEXT:     __local float As[256], Bs[256];
# CL-NEXT:     const long lid = (long)get_local_id(0);
# CL-NEXT:     const long ty = lid / 16, tx = lid % 16;
# CL-NEXT:     for (long tile = (long)get_group_id(0); tile < 15; tile += (long)get_num_groups(0)) {
# CL-NEXT:         const long bt = tile / 15;
# CL-NEXT:         const long m0 = tile / 3 % 5 * 16, n0 = tile % 3 * 16;
# CL:              for (long k0 = 0; k0 < 129; k0 += 16) {
# CL:                      As[kk * 16 + xx] = gk < 129 && gm < 67 ? b0[aoff + gm * 129 + gk] : (float)0;
# CL:                      Bs[kk * 16 + xx] = gk < 129 && gj < 33 ? b1[boff + gk * 33 + gj] : (float)0;
# CL:                  barrier(CLK_LOCAL_MEM_FENCE);
# CL:                              acc[p * 1 + q] = acc[p * 1 + q] + a[p] * b[q];
# CL:                  barrier(CLK_LOCAL_MEM_FENCE);
# CL:                      if (gm < 67 && gj < 33) {
# CL-NEXT:                     const long gr = bt * 67 + gm;
# CL-NEXT:                     b3[gr * 33 + gj] = acc[p * 1 + q];
# CL-NEXT:                     const long i0 = gr;
# CL-NEXT:                     (void)i0;
# CL-NEXT:                     {
# CL-NEXT:                         const long i1 = gj;
# CL-NEXT:                         float s0 = b3[(i0 * 33) + i1] + b2[i1];
# CL-NEXT:                         float s1 = (s0 <= 0.0f) ? 0.0f : s0;
# CL-NEXT:                         b3[(i0 * 33) + i1] = s1;
# CL-NEXT:                     }
# CU: extern "C" __global__ void __launch_bounds__(256) mm_k0(const float *__restrict__ b0, const float *__restrict__ b1, const float *__restrict__ b2, float *__restrict__ b3)
# CU-NEXT: {
# CU-NEXT:     __shared__ float As[256], Bs[256];
# CU-NEXT:     const long long lid = ((long long)threadIdx.x);
# CU:              __syncthreads();
# CU:                              acc[p * 1 + q] = acc[p * 1 + q] + a[p] * b[q];
mtir 1
graph mm {
  input %a : f32[67,129]
  input %b : f32[129,33]
  param %c : f32[33]
  %p = matmul %a, %b
  %q = add %p, %c
  %r = relu %q
  output %r
}
