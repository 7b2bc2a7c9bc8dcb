# The first output must hold one element: the error names the file, the line of the output's
# definition, the value and its type, and the exit code is 1. Shape [1,1] is fine.
# RUN: exits 1 %mtc grad %s 2>&1 | FileCheck %s
# RUN: sed 's/f32\[2,3\]/f32[1,1]/' %s > %t && %mtc grad %t | FileCheck %s --check-prefix=ONE
mtir 1
graph notscalar {
  param %w : f32[2,3]
  %h = exp %w
  output %h
}
# CHECK: not_scalar.mt:8:3: grad: the first output %h has type f32[2,3]; it must hold exactly one element
# ONE: output %h, %grad.w
