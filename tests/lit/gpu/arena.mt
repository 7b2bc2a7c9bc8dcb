# Temporaries in OpenCL are reached through one arena parameter at their planned offsets
# (memory planning may store a value over an operand it replaces); in CUDA each is a pointer
# parameter into the arena (k0, a matmul, is the tiled GEMM: a fixed group size). Infinities
# are written from their bits. --backend opencl without a device, or cuda without a driver,
# is exit 1 with a message naming what is missing (checked
# in docs/cli.md and test_program.c, since it depends on the machine).
# RUN: %mtc dump %s --stage opencl | FileCheck %s --check-prefix=CL
# RUN: %mtc dump %s --stage cuda | FileCheck %s --check-prefix=CU
# CL: __kernel void __attribute__((reqd_work_group_size(256, 1, 1))) arena_k0(__global const float *restrict b0, __global const float *restrict b1, __global uchar *arena)
# CL-NEXT: {
# CL-NEXT:     __global float *b2 = (__global float *)(arena + 0);
# CL: __kernel void arena_k1(__global float *restrict b3, __global uchar *arena)
# CL-NEXT: {
# CL-NEXT:     __global const float *b2 = (__global const float *)(arena + 0);
# CL: as_float(0x7f800000u)
# CL: as_float(0xff800000u)
# CU: extern "C" __global__ void __launch_bounds__(256) arena_k0(const float *__restrict__ b0, const float *__restrict__ b1, float *__restrict__ b2)
# CU: extern "C" __global__ void arena_k1(const float *__restrict__ b2, float *__restrict__ b3)
# CU: __int_as_float((int)0x7f800000u)
mtir 1
graph arena {
  input %x : f32[3,2]
  input %w : f32[2,4]
  %h = matmul %x, %w
  %r = relu %h
  %s = sum %r dim=1
  %inf = const value=inf : f32[]
  %y = minimum %s, %inf
  %z = max %r dim=0
  output %y, %z
}
