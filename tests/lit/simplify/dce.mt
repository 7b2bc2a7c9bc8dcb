# dce: nodes no output needs are dropped; every input and param stays, in order, even unused.
# RUN: %mtc dump %s --stage optimized | FileCheck %s
mtir 1
graph dce {
  param %p : f32[3]
  input %x : f32[3]
  %dead = exp %p
  %dead2 = log %dead
  input %unused : f64[2,2]
  param %q : f32[]
  %y = relu %x
  output %y
}
# CHECK:      graph dce {
# CHECK-NEXT:   param %p : f32[3]
# CHECK-NEXT:   input %x : f32[3]
# CHECK-NEXT:   input %unused : f64[2,2]
# CHECK-NEXT:   param %q : f32[]
# CHECK-NEXT:   %y = relu %x : f32[3]
# CHECK-NEXT:   output %y
# CHECK-NEXT: }
