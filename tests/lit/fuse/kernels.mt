# RUN: %mtc dump %s --stage kernels | FileCheck %s
# The loop nest of a fused softmax row loop: the max runs once per row in a reduction loop
# before the row's elementwise loop. f32 sums accumulate in f64. Temporaries live in one arena.
mtir 1
graph norm {
  input %x : f32[16,100]
  %m = max %x dim=1
  %d = sub %x, %m
  %e = exp %d
  %s = sum %e dim=1
  %y = div %e, %s
  output %y
}

# CHECK: program norm: 3 buffers, 2 kernels, arena 6400 bytes (temporaries 6400 bytes, 0 in place)
# CHECK-NEXT: buffer b0 %x : f32[16,100] input
# CHECK-NEXT: buffer b1 %e : f32[16,100] temp @0
# CHECK-NEXT: buffer b2 %y : f32[16,100] output 0
# CHECK-EMPTY:
# CHECK-NEXT: kernel k0(b0 r noalias, b1 w noalias) {  # %e: max sub exp
# CHECK-NEXT:   for i0 in 0..16 parallel {
# CHECK-NEXT:     f32 s0 = -inf
# CHECK-NEXT:     for i1 in 0..100 reduce {
# CHECK-NEXT:       f32 s1 = b0[i0 * 100 + i1]
# CHECK-NEXT:       s0 = select(s1 != s1 || s1 > s0, s1, s0)
# CHECK-NEXT:     }
# CHECK-NEXT:     f32 s2 = s0
# CHECK-NEXT:     for i2 in 0..100 parallel {
# CHECK-NEXT:       f32 s3 = b0[i0 * 100 + i2] - s2
# CHECK-NEXT:       f32 s4 = exp(s3)
# CHECK-NEXT:       b1[i0 * 100 + i2] = s4
# CHECK-NEXT:     }
# CHECK-NEXT:   }
# CHECK-NEXT: }
# CHECK-EMPTY:
# CHECK-NEXT: kernel k1(b1 r noalias, b2 w noalias) {  # %y: sum div
# CHECK-NEXT:   for i0 in 0..16 parallel {
# CHECK-NEXT:     f64 s0 = 0.0
# CHECK-NEXT:     for i1 in 0..100 reduce {
# CHECK-NEXT:       s0 = s0 + f64(b1[i0 * 100 + i1])
# CHECK-NEXT:     }
# CHECK-NEXT:     f32 s1 = f32(s0)
# CHECK-NEXT:     for i2 in 0..100 parallel {
# CHECK-NEXT:       f32 s2 = b1[i0 * 100 + i2] / s1
# CHECK-NEXT:       b2[i0 * 100 + i2] = s2
# CHECK-NEXT:     }
# CHECK-NEXT:   }
# CHECK-NEXT: }
