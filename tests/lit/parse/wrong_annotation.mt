# RUN: exits 1 %mtc dump %s 2>&1 | FileCheck %s
# CHECK: {{.*}}wrong_annotation.mt:7:3: matmul: declared type f32[2,5] but the result is f32[2,4]
mtir 1
graph g {
  input %a : f32[2,3]
  input %b : f32[3,4]
  %c = matmul %a, %b : f32[2,5]
  output %c
}
