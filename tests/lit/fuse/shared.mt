# RUN: %mtc dump %s --stage fused --why | FileCheck %s
# A value read by two kernels is stored once instead of being recomputed by both; a value
# read twice inside one kernel is not.
mtir 1
graph shared {
  input %x : f64[8,8]
  %e = exp %x
  %a = sum %e dim=0
  %b = sum %e dim=1
  %l = log %x
  %sq = mul %l, %l
  %c = add %sq, %l
  output %a, %b, %c
}

# CHECK: # fused graph shared: 4 kernels
# CHECK-NEXT: kernel k0 elementwise {
# CHECK-NEXT:   %e = exp %x : f64[8,8]  # stored: read by 2 kernels (k1, k2)
# CHECK-NEXT: }
# CHECK-NEXT: kernel k1 reduce {
# CHECK-NEXT:   %a = sum %e : f64[1,8]  # stored: graph output
# CHECK-NEXT: }
# CHECK-NEXT: kernel k2 reduce {
# CHECK-NEXT:   %b = sum %e : f64[8,1]  # stored: graph output
# CHECK-NEXT: }
# CHECK-NEXT: kernel k3 elementwise {
# CHECK-NEXT:   %l = log %x : f64[8,8]
# CHECK-NEXT:   %sq = mul %l, %l : f64[8,8]
# CHECK-NEXT:   %c = add %sq, %l : f64[8,8]  # stored: graph output
# CHECK-NEXT: }
