# RUN: exits 1 %mtc dump %s 2>&1 | FileCheck %s
# CHECK: {{.*}}attr_not_taken.mt:6:15: neg: does not take attribute 'dim'
mtir 1
graph g {
  input %x : f32[4,3]
  %s = neg %x dim=1
  output %s
}
