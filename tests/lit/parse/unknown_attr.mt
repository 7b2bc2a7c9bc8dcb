# RUN: exits 1 %mtc dump %s 2>&1 | FileCheck %s
# CHECK: {{.*}}unknown_attr.mt:6:15: sum: unknown attribute 'axis'
mtir 1
graph g {
  input %x : f32[4,3]
  %s = sum %x axis=1
  output %s
}
