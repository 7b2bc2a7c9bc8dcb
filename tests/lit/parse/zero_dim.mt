# RUN: exits 1 %mtc dump %s 2>&1 | FileCheck %s
# CHECK: {{.*}}zero_dim.mt:5:14: dims must be positive, got 0
mtir 1
graph g {
  input %x : f32[4,0]
  output %x
}
