# RUN: exits 1 %mtc dump %s 2>&1 | FileCheck %s
# CHECK: {{.*}}reshape_count.mt:6:3: reshape: f32[4,3] has 12 elements but the shape has 10
mtir 1
graph g {
  input %x : f32[4,3]
  %r = reshape %x shape=[2,5]
  output %r
}
