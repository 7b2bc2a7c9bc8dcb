# RUN: exits 1 %mtc dump %s 2>&1 | FileCheck %s
# CHECK: {{.*}}undefined_value.mt:6:16: undefined value '%z'
mtir 1
graph g {
  input %x : f32[4]
  %y = add %x, %z
  output %y
}
