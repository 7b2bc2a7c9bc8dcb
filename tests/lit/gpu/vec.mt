# Golden tests of vectorised elementwise kernels (codegen/c/render_vec.c): four elements per
# work-item, float4 loads of the operands read at the flat index (x), scalar loads of the
# broadcast ones (b, c), the body once per component, one float4 store, and a scalar tail for
# the last 17 * 1031 % 4 = 3 elements. OpenCL: vload4/vstore4; CUDA: float4 through the
# 16-byte-aligned buffer pointers.
# RUN: %mtc dump %s --stage opencl | FileCheck %s --check-prefix=CL
# RUN: %mtc dump %s --stage cuda | FileCheck %s --check-prefix=CU
# CL: __kernel void ew_k0(__global const float *restrict b0, __global const float *restrict b1, __global const float *restrict b2, __global float *restrict b3)
# CL-NEXT: {
# CL-NEXT:     for (long gv = (long)get_global_id(0); gv < 4381; gv += (long)get_global_size(0)) {
# CL-NEXT:         const float4 vb0 = vload4(gv, b0);
# CL-NEXT:         float4 wb3;
# CL-NEXT:         {
# CL-NEXT:             const long gid = gv * 4 + 0;
# CL-NEXT:             const long i0 = gid / 1031;
# CL-NEXT:             const long i1 = gid % 1031;
# CL-NEXT:             (void)i0;
# CL-NEXT:             (void)i1;
# CL-NEXT:             float s0 = vb0.x + b1[i1];
# CL-NEXT:             float s1 = s0 * b2[i0];
# CL-NEXT:             float s2 = tanh(s1);
# CL-NEXT:             wb3.x = s2;
# CL-NEXT:         }
# CL:                    float s0 = vb0.w + b1[i1];
# CL:                wb3.w = s2;
# CL-NEXT:         }
# CL-NEXT:         vstore4(wb3, gv, b3);
# CL-NEXT:     }
# CL-NEXT:     for (long gid = 17524 + (long)get_global_id(0); gid < 17527; gid += (long)get_global_size(0)) {
# CL-NEXT:         const long i0 = gid / 1031;
# CL-NEXT:         const long i1 = gid % 1031;
# CL-NEXT:         float s0 = b0[(i0 * 1031) + i1] + b1[i1];
# CU: extern "C" __global__ void ew_k0(
# CU:         const float4 vb0 = reinterpret_cast<const float4 *>(b0)[gv];
# CU:         reinterpret_cast<float4 *>(b3)[gv] = wb3;
mtir 1
graph ew {
  input %x : f32[17,1031]
  input %b : f32[1031]
  input %c : f32[17,1]
  %y = add %x, %b
  %z = mul %y, %c
  %t = tanh %z
  output %t
}
