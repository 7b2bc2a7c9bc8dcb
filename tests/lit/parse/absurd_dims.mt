# RUN: exits 1 %mtc dump %s 2>&1 | FileCheck %s
# CHECK: {{.*}}absurd_dims.mt:5:14: type has too many elements (limit 2^40)
mtir 1
graph g {
  input %x : f32[1000000,1000000,1000000]
  output %x
}
