# RUN: exits 1 %mtc dump %s 2>&1 | FileCheck %s
# CHECK: {{.*}}line_after_output.mt:7:3: expected '}' after the output line, got '%z'
mtir 1
graph g {
  input %x : f32[4]
  output %x
  %z = neg %x
}
