# RUN: %mtc dump %s --stage fused --why | FileCheck %s
# A matmul takes its elementwise epilogue (bias, relu) into its kernel. Its operands are read
# many times each, so a computed operand (tanh) is stored first; a transposed weight is only
# index arithmetic.
mtir 1
graph mlp {
  input %x : f32[32,64]
  param %w : f32[10,64]
  param %b : f32[10]
  %t = tanh %x
  %wt = permute %w perm=[1,0]
  %h = matmul %t, %wt
  %a = add %h, %b
  %y = relu %a
  output %y
}

# CHECK: # fused graph mlp: 2 kernels
# CHECK-NEXT: kernel k0 elementwise {
# CHECK-NEXT:   %t = tanh %x : f32[32,64]  # stored: operand of %h in k1, which reads each element many times
# CHECK-NEXT: }
# CHECK-NEXT: kernel k1 matmul {
# CHECK-NEXT:   %wt = permute %w : f32[64,10]  # inline
# CHECK-NEXT:   %h = matmul %t, %wt : f32[32,10]
# CHECK-NEXT:   %a = add %h, %b : f32[32,10]
# CHECK-NEXT:   %y = relu %a : f32[32,10]  # stored: graph output
# CHECK-NEXT: }
