# RUN: %mtc dump %s --stage fused --why | FileCheck %s
# A reduction read through a reshape that spreads each of its elements over several cells:
# max-pooling's backward rule divides by the number of maxima in each 2x2 window, and every
# cell of the window reads that count. Fused, the count's four-element sum would run once per
# cell (four times per window); it is stored once instead, and the cells read it.
mtir 1
graph window {
  input %x : f32[2,3,4,2,4,2]
  input %m : f32[2,3,4,1,4,1]
  input %dy : f32[2,3,4,1,4,1]
  %mask = eq %x, %m
  %c1 = sum %mask dim=3
  %count = sum %c1 dim=5
  %share = div %dy, %count
  %d = mul %mask, %share
  %dx = reshape %d shape=[2,3,8,8]
  output %dx
}
# CHECK:      kernel k1 reduce {
# CHECK-NEXT:   %c1 = sum %mask : f32[2,3,4,1,4,2]
# CHECK-NEXT:   %count = sum %c1 : f32[2,3,4,1,4,1]  # stored: reduction broadcast along an outer loop of k2: it would be recomputed for each iteration
# CHECK-NEXT: }
# CHECK-NEXT: kernel k2 copy {
# CHECK-NEXT:   %share = div %dy, %count : f32[2,3,4,1,4,1]
# CHECK-NEXT:   %d = mul %mask, %share : f32[2,3,4,2,4,2]
