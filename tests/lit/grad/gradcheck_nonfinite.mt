# Where the loss is inf or nan, central differences and gradients mean nothing: gradcheck says
# the loss is not finite at the given inputs instead of blaming a param or a node.
# RUN: exits 1 %mtc gradcheck %s --seed 1 2>&1 | FileCheck %s
# CHECK: gradient of %l by central differences
# CHECK-NOT: FAIL
# CHECK: {{.*}}gradcheck_nonfinite.mt: the loss %l is not finite at the given inputs (it is nan): gradients cannot be checked there
# CHECK-NOT: first node
mtir 1
graph nf {
  input %x : f32[3]
  param %a : f32[3]
  param %w : f32[3]
  %z = sub %x, %x
  %n = div %z, %z
  %q = mul %w, %n
  %p = mul %a, %x
  %s = add %p, %q
  %l = sum %s
  output %l
}
