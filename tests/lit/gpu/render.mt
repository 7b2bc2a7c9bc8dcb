# Golden tests of the C-style renderer (codegen/c): a fused add-relu-sum kernel (a parallel
# nest with a reduction inside) and rand (Philox in kernel IR integer ops: mulhi, xor, shifts)
# in both dialects. The translation unit is self-contained: OpenCL enables fp64 only because a
# kernel uses it, and the CUDA source includes nothing.
# RUN: %mtc dump %s --stage opencl | FileCheck %s --check-prefix=CL
# RUN: %mtc dump %s --stage cuda | FileCheck %s --check-prefix=CU
# RUN: %mtc dump %s --all | FileCheck %s --check-prefix=ALL
# CL: /* opencl: program tiny, 2 kernels (mtc, the opencl dialect of codegen/c) */
# CL-NEXT: #pragma OPENCL FP_CONTRACT OFF
# CL-NEXT: #pragma OPENCL EXTENSION cl_khr_fp64 : enable
# CL: /* k0: %s: add relu sum */
# CL-NEXT: __kernel void tiny_k0(__global const float *restrict b0, __global const float *restrict b1, __global float *restrict b2)
# CL-NEXT: {
# CL-NEXT:     for (long gid = (long)get_global_id(0); gid < 4; gid += (long)get_global_size(0)) {
# CL-NEXT:         const long i0 = gid;
# CL-NEXT:         double s0 = 0.0;
# CL-NEXT:         for (long i1 = 0; i1 < 3; i1++) {
# CL-NEXT:             float s1 = b0[(i0 * 3) + i1] + b1[i1];
# CL-NEXT:             float s2 = (s1 <= 0.0f) ? 0.0f : s1;
# CL-NEXT:             s0 = s0 + ((double)s2);
# CL-NEXT:         }
# CL-NEXT:         float s3 = (float)s0;
# CL-NEXT:         b2[i0] = s3;
# CL-NEXT:     }
# CL-NEXT: }
# CL: __kernel void tiny_k1(__global double *restrict b3)
# CL:         uint s0 = (mul_hi(3449720151u, 0u) ^ ((uint)(((ulong)i0) >> 32UL))) ^ 7u;
# CL:         double s40 = ((double)(((((ulong)s36) << 32UL) | ((ulong)s37)) >> 11UL)) * 1.1102230246251565e-16;
# CL-NEXT:         b3[i0] = s40;
# CU: /* cuda: program tiny, 2 kernels (mtc, the cuda dialect of codegen/c) */
# CU-NOT: #include
# CU: extern "C" __global__ void tiny_k0(const float *__restrict__ b0, const float *__restrict__ b1, float *__restrict__ b2)
# CU-NEXT: {
# CU-NEXT:     for (long long gid = ((long long)blockIdx.x * blockDim.x + threadIdx.x); gid < 4; gid += ((long long)gridDim.x * blockDim.x)) {
# CU-NEXT:         const long long i0 = gid;
# CU-NEXT:         double s0 = 0.0;
# CU-NEXT:         for (long long i1 = 0; i1 < 3; i1++) {
# CU-NEXT:             float s1 = b0[(i0 * 3) + i1] + b1[i1];
# CU: extern "C" __global__ void tiny_k1(double *__restrict__ b3)
# CU:         unsigned int s0 = (__umulhi(3449720151u, 0u) ^ ((unsigned int)(((unsigned long long)i0) >> 32ULL))) ^ 7u;
# CU:         double s40 = ((double)(((((unsigned long long)s36) << 32ULL) | ((unsigned long long)s37)) >> 11ULL)) * 1.1102230246251565e-16;
# ALL: # stage: llvm
# ALL: # stage: cuda
# ALL: extern "C" __global__ void tiny_k0(
# ALL: # stage: opencl
# ALL: __kernel void tiny_k0(
mtir 1
graph tiny {
  input %x : f32[4,3]
  input %b : f32[3]
  %y = add %x, %b
  %r = relu %y
  %s = sum %r dim=1
  %u = rand seed=7 : f64[5]
  output %s, %u
}
