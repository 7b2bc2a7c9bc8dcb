# RUN: exits 1 %mtc dump %s 2>&1 | FileCheck %s
# CHECK: {{.*}}missing_attr.mt:6:3: reshape: missing attribute 'shape'
mtir 1
graph g {
  input %x : f32[4,3]
  %r = reshape %x
  output %r
}
