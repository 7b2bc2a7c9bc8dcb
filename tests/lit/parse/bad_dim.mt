# RUN: exits 1 %mtc dump %s 2>&1 | FileCheck %s
# CHECK: {{.*}}bad_dim.mt:6:3: sum: dim 2 is out of range for f32[4,3]
mtir 1
graph g {
  input %x : f32[4,3]
  %s = sum %x dim=2
  output %s
}
