# RUN: exits 1 %mtc dump %s 2>&1 | FileCheck %s
# CHECK: {{.*}}unknown_op.mt:6:8: unknown op 'relux'
mtir 1
graph g {
  input %x : f32[4]
  %y = relux %x
  output %y
}
