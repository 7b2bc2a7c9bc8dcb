# A result whose element count overflows is an error at the op, like a declared type.
# RUN: exits 1 %mtc dump %s 2>&1 | FileCheck %s
# CHECK: {{.*}}conv_too_big.mt:8:3: conv2d: f32[2,4,111111114,111111114] has too many elements
mtir 1
graph g {
  input %x : f32[2,3,8,8]
  input %w : f32[4,3,3,3]
  %c = conv2d %x, %w stride=[2,2] padding=[111111111,111111111]
  output %c
}
