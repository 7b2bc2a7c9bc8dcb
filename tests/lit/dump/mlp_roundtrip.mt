# The printer's form is canonical: types are filled in and a second print is identical.
# RUN: %mtc dump %s | FileCheck %s
# RUN: %mtc dump %s > %t && %mtc dump %t | diff - %t
mtir 1
graph mlp {
  input %x : f32[8,16]
  param %w1 : f32[16,4]
  param %b1 : f32[4]
  %h = matmul %x, %w1
  %a = add %h, %b1
  %y = relu %a
  %s = sum %y dim=-1
  %m = mean %s
  output %y, %m
}
# CHECK: mtir 1
# CHECK-NEXT: graph mlp {
# CHECK-NEXT:   input %x : f32[8,16]
# CHECK-NEXT:   param %w1 : f32[16,4]
# CHECK-NEXT:   param %b1 : f32[4]
# CHECK-NEXT:   %h = matmul %x, %w1 : f32[8,4]
# CHECK-NEXT:   %a = add %h, %b1 : f32[8,4]
# CHECK-NEXT:   %y = relu %a : f32[8,4]
# CHECK-NEXT:   %s = sum %y dim=-1 : f32[8,1]
# CHECK-NEXT:   %m = mean %s : f32[]
# CHECK-NEXT:   output %y, %m
# CHECK-NEXT: }
