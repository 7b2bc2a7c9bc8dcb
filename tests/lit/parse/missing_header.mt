# RUN: exits 1 %mtc dump %s 2>&1 | FileCheck %s
# CHECK: {{.*}}missing_header.mt:3:1: expected 'mtir 1' header, got 'graph'
graph g {
  input %x : f32[4]
  output %x
}
