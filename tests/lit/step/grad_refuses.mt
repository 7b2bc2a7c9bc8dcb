# mtc grad differentiates loss graphs; a step graph is refused at its first update line.
# RUN: exits 1 %mtc grad %s 2>&1 | FileCheck %s
# CHECK: {{.*}}grad_refuses.mt:10:10: grad: 'g' is a step graph (it has update lines)
mtir 1
graph g {
  input %x : f32[2]
  param %w : f32[2]
  %y = mul %x, %w
  %l = sum %y
  update %w <- %y
  output %l
}
