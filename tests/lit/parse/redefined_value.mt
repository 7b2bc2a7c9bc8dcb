# RUN: exits 1 %mtc dump %s 2>&1 | FileCheck %s
# CHECK: {{.*}}redefined_value.mt:7:3: value '%x' is already defined
mtir 1
graph g {
  input %x : f32[4]
  %y = neg %x
  %x = neg %y
  output %x
}
