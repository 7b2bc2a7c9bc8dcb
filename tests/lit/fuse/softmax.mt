# RUN: %mtc dump %s --stage fused --why | FileCheck %s
# Softmax along rows: the max fuses into x - max (it runs once per row, before the row's
# elementwise loop); exp(x - max) is read by the sum's loop and by the division after it, so
# it is stored rather than computed twice; the sum fuses into the division.
mtir 1
graph softmax {
  input %x : f32[16,100]
  %m = max %x dim=1
  %d = sub %x, %m
  %e = exp %d
  %s = sum %e dim=1
  %y = div %e, %s
  output %y
}

# CHECK: # fused graph softmax: 2 kernels
# CHECK-NEXT: kernel k0 reduce {
# CHECK-NEXT:   %m = max %x : f32[16,1]
# CHECK-NEXT:   %d = sub %x, %m : f32[16,100]
# CHECK-NEXT:   %e = exp %d : f32[16,100]  # stored: read inside and outside a reduction loop of k1
# CHECK-NEXT: }
# CHECK-NEXT: kernel k1 reduce {
# CHECK-NEXT:   %s = sum %e : f32[16,1]
# CHECK-NEXT:   %y = div %e, %s : f32[16,100]  # stored: graph output
# CHECK-NEXT: }
