# RUN: exits 1 %mtc dump %s 2>&1 | FileCheck %s
# CHECK: {{.*}}attr_value_type.mt:6:19: expected an integer, got '1.5'
mtir 1
graph g {
  input %x : f32[4,3]
  %s = sum %x dim=1.5
  output %s
}
