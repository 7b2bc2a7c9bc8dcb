# Outputs keep their names through every pass: an output that becomes another value takes
# that value's node over, or gets a copy when the value is a leaf or another output.
# RUN: %mtc dump %s --stage optimized | FileCheck %s
# RUN: %mtc dump %s --stage optimized > %t && %mtc dump %t --stage optimized | diff - %t
mtir 1
graph names {
  input %x : f32[2]
  %one = const value=1 : f32[]
  %t = exp %x
  %y = mul %t, %one
  %z = add %x, %x
  %z1 = mul %z, %one
  %id = mul %x, %one
  output %y, %z, %z1, %id, %x
}
# CHECK:      input %x : f32[2]
# CHECK-NEXT: %y = exp %x : f32[2]
# CHECK-NEXT: %z = add %x, %x : f32[2]
# CHECK-NEXT: %z1 = reshape %z shape=[2] : f32[2]
# CHECK-NEXT: %id = reshape %x shape=[2] : f32[2]
# CHECK-NEXT: output %y, %z, %z1, %id, %x
