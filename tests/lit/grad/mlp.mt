# The gradient of a one-layer MLP: matmul's rule transposes with permute, the bias gradient
# undoes broadcasting with sum dim=0 then reshape, relu's uses gt(x, 0).
# RUN: %mtc grad %s | FileCheck %s
# RUN: %mtc grad %s -o %t && %mtc dump %t | diff - %t
mtir 1
graph mlp {
  input %x : f32[4,3]
  param %w1 : f32[3,5]
  param %b1 : f32[5]
  %h = matmul %x, %w1
  %a = add %h, %b1
  %y = relu %a
  %m = mean %y
  output %m, %y
}
# CHECK:      input %x : f32[4,3]
# CHECK-NEXT: param %w1 : f32[3,5]
# CHECK-NEXT: param %b1 : f32[5]
# CHECK-NEXT: %h = matmul %x, %w1 : f32[4,5]
# CHECK:      %[[SEED:[0-9]+]] = const value=1 : f32[]
# CHECK:      %[[COUNT:[0-9]+]] = const value={{20|2e\+01}} : f32[]
# CHECK-NEXT: %[[DM:[0-9]+]] = div %[[SEED]], %[[COUNT]] : f32[]
# CHECK-NEXT: %[[DY:[0-9]+]] = expand %[[DM]] shape=[4,5] : f32[4,5]
# CHECK-NEXT: %[[ZERO:[0-9]+]] = const value=0 : f32[]
# CHECK-NEXT: %[[MASK:[0-9]+]] = gt %a, %[[ZERO]] : f32[4,5]
# CHECK-NEXT: %[[DA:[0-9]+]] = mul %[[DY]], %[[MASK]] : f32[4,5]
# CHECK-NEXT: %[[SUM:[0-9]+]] = sum %[[DA]] dim=0 : f32[1,5]
# CHECK-NEXT: %grad.b1 = reshape %[[SUM]] shape=[5] : f32[5]
# CHECK-NEXT: %[[XT:[0-9]+]] = permute %x perm=[1,0] : f32[3,4]
# CHECK-NEXT: %grad.w1 = matmul %[[XT]], %[[DA]] : f32[3,5]
# CHECK-NEXT: output %m, %y, %grad.w1, %grad.b1
