# RUN: %mtc dump %s --stage fused --why | FileCheck %s
# RUN: %mtc dump %s --stage kernels | FileCheck %s --check-prefix=K
# RUN: %mtc dump %s --stage llvm | FileCheck %s --check-prefix=L
# Sibling reductions: the row sum and the row max of one producer are stored by one kernel,
# which computes the producer once per element inside one reduction loop with an accumulator
# for each and never stores it. A row sum and a column sum reduce different axes: they keep
# kernels of their own, and the producer they share is stored. The LLVM emitter vectorises the
# shared loop: the sum in f64 lanes, the max as integer keys (codegen/llvm/emit_reduce.c).
mtir 1
graph siblings {
  input %x : f32[64,32]
  %e = exp %x
  %s = sum %e dim=1
  %m = max %e dim=1
  input %z : f32[16,8]
  %t = tanh %z
  %r = sum %t dim=1
  %c = sum %t dim=0
  output %s, %m, %r, %c
}

# CHECK: # fused graph siblings: 4 kernels
# CHECK-NEXT: kernel k0 reduce {
# CHECK-NEXT:   %e = exp %x : f32[64,32]
# CHECK-NEXT:   %s = sum %e : f32[64,1]  # stored: graph output
# CHECK-NEXT:   %m = max %e : f32[64,1]  # stored: graph output
# CHECK-NEXT: }
# CHECK-NEXT: kernel k1 elementwise {
# CHECK-NEXT:   %t = tanh %z : f32[16,8]  # stored: read by 2 kernels (k2, k3)

# K: program siblings: 7 buffers, 4 kernels
# K: kernel k0(b0 r noalias, b2 w noalias, b3 w noalias) {  # %m: exp sum max
# K-NEXT:   for i0 in 0..64 parallel {
# K-NEXT:     f32 s0 = -inf
# K-NEXT:     f64 s1 = 0.0
# K-NEXT:     for i1 in 0..32 reduce {
# K-NEXT:       f32 s2 = exp(b0[i0 * 32 + i1])
# K-NEXT:       f32 s3 = s2
# K-NEXT:       s0 = select(s3 != s3 || s3 > s0, s3, s0)
# K-NEXT:       s1 = s1 + f64(s2)
# K-NEXT:     }
# K-NEXT:     f32 s4 = s0
# K-NEXT:     f32 s5 = f32(s1)
# K-NEXT:     b3[i0] = s4
# K-NEXT:     b2[i0] = s5
# K-NEXT:   }
# K-NEXT: }

# L-LABEL: define void @siblings_k0(
# L-DAG: phi <{{[0-9]+}} x double>
# L-DAG: phi <{{[0-9]+}} x i32>
# L-LABEL: define void @siblings_k1(
