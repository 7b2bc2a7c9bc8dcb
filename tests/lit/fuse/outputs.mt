# RUN: %mtc dump %s --stage fused | FileCheck %s
# Every output is stored by a kernel of its own, even a constant; an input that is an output
# needs no kernel. Nodes no output depends on are not computed at all.
mtir 1
graph outputs {
  input %x : f32[4]
  %c = const value=1.5 : f32[4]
  %dead = exp %x
  %y = add %x, %c
  output %y, %c, %x
}

# CHECK: # fused graph outputs: 2 kernels
# CHECK-NEXT: kernel k0 fill {
# CHECK-NEXT:   %c = const : f32[4]  # stored
# CHECK-NEXT: }
# CHECK-NEXT: kernel k1 elementwise {
# CHECK-NEXT:   %y = add %x, %c : f32[4]  # stored
# CHECK-NEXT: }
# CHECK-NEXT: # output %x is a leaf: copied
