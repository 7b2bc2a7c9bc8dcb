# RUN: %mtc dump %s --stage fused --why | FileCheck %s
# Where a reduction may join its reader: a variance (a reduction inside a reduction) is one
# kernel; a column sum broadcast back along rows would be recomputed for every row, and a
# total broadcast over a whole kernel by every thread, so both are stored.
mtir 1
graph reductions {
  input %x : f32[64,32]
  %mu = mean %x dim=1
  %d = sub %x, %mu
  %sq = mul %d, %d
  %var = mean %sq dim=1
  %col = sum %x dim=0
  %n = div %x, %col
  %tot = sum %x
  %f = sub %x, %tot
  output %var, %n, %f
}

# CHECK: # fused graph reductions: 5 kernels
# CHECK-NEXT: kernel k0 reduce {
# CHECK-NEXT:   %mu = mean %x : f32[64,1]
# CHECK-NEXT:   %d = sub %x, %mu : f32[64,32]
# CHECK-NEXT:   %sq = mul %d, %d : f32[64,32]
# CHECK-NEXT:   %var = mean %sq : f32[64,1]  # stored: graph output
# CHECK-NEXT: }
# CHECK-NEXT: kernel k1 reduce {
# CHECK-NEXT:   %col = sum %x : f32[1,32]  # stored: reduction broadcast along an outer loop of k2: it would be recomputed for each iteration
# CHECK-NEXT: }
# CHECK-NEXT: kernel k2 elementwise {
# CHECK-NEXT:   %n = div %x, %col : f32[64,32]  # stored: graph output
# CHECK-NEXT: }
# CHECK-NEXT: kernel k3 reduce {
# CHECK-NEXT:   %tot = sum %x : f32[]  # stored: reduction broadcast over all of k4: every thread would recompute it
# CHECK-NEXT: }
# CHECK-NEXT: kernel k4 elementwise {
# CHECK-NEXT:   %f = sub %x, %tot : f32[64,32]  # stored: graph output
# CHECK-NEXT: }
