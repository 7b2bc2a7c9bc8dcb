# RUN: exits 1 %mtc dump %s 2>&1 | FileCheck %s
# CHECK: {{.*}}shape_mismatch.mt:7:3: add: shapes f32[4,3] and f32[5] do not broadcast
mtir 1
graph g {
  input %x : f32[4,3]
  input %y : f32[5]
  %a = add %x, %y
  output %a
}
