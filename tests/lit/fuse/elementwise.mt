# RUN: %mtc dump %s --stage fused | FileCheck %s
# A chain of elementwise ops with broadcasts becomes one kernel: nothing between the inputs
# and the output is stored.
mtir 1
graph chain {
  input %x : f32[4,8]
  input %b : f32[8]
  input %s : f32[]
  %a = add %x, %b
  %e = exp %a
  %t = mul %e, %s
  %y = sigmoid %t
  output %y
}

# CHECK: # fused graph chain: 1 kernel
# CHECK-NEXT: kernel k0 elementwise {
# CHECK-NEXT:   %a = add %x, %b : f32[4,8]
# CHECK-NEXT:   %e = exp %a : f32[4,8]
# CHECK-NEXT:   %t = mul %e, %s : f32[4,8]
# CHECK-NEXT:   %y = sigmoid %t : f32[4,8]  # stored
# CHECK-NEXT: }
