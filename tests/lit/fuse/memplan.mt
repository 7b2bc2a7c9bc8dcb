# RUN: %mtc dump %s --stage kernels | FileCheck %s
# Memory planning: %t is read by two kernels, so it is stored; the kernel of %u is its last
# reader and reads it only where it writes, so %u is computed in place (both at offset 0,
# and the kernel touches one buffer). The arena holds one temporary instead of two.
mtir 1
graph inplace {
  input %x : f64[64,1031]
  %t = exp %x
  %s = sum %t dim=1
  %u = neg %t
  %v = sum %u dim=1
  %w = sum %u dim=0
  output %s, %v, %w
}
# CHECK: program inplace: 6 buffers, 5 kernels, arena 527872 bytes (temporaries 1055744 bytes, 1 in place)
# CHECK: buffer b1 %t : f64[64,1031] temp @0
# CHECK: buffer b3 %u : f64[64,1031] temp @0
# CHECK: kernel k2(b3 rw noalias) {  # %u: neg
# CHECK-NEXT:   for i0 in 0..64 parallel {
# CHECK-NEXT:     for i1 in 0..1031 parallel {
# CHECK-NEXT:       f64 s0 = neg(b3[i0 * 1031 + i1])
# CHECK-NEXT:       b3[i0 * 1031 + i1] = s0
