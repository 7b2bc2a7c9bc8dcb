# RUN: exits 1 %mtc dump %s 2>&1 | FileCheck %s
# CHECK: {{.*}}rank_too_big.mt:5:14: rank 7 is over the maximum of 6
mtir 1
graph g {
  input %x : f32[1,1,1,1,1,1,1]
  output %x
}
