# mtc step writes the training step of a loss graph: the loss graph's signature and outputs,
# the optimiser's state, and one update per trained param.
# RUN: %mtc step %s --optimizer sgd --momentum 0.9 --lr 0.1 | FileCheck %s --check-prefix=SGD
# RUN: %mtc step %s --optimizer adam --wrt w -o %t && %mtc dump %t | FileCheck %s --check-prefix=ADAM
# RUN: exits 2 %mtc step %s 2>&1 | FileCheck %s --check-prefix=NOOPT
# RUN: exits 2 %mtc step %s --optimizer adam --momentum 0.9 2>&1 | FileCheck %s --check-prefix=WRONGFLAG
# RUN: exits 2 %mtc step %s --optimizer sgd --lr fast 2>&1 | FileCheck %s --check-prefix=NAN
# RUN: exits 1 %mtc step %s --optimizer sgd --wrt x 2>&1 | FileCheck %s --check-prefix=INPUT
# RUN: exits 1 %mtc step %s --optimizer sgd --lr -1 2>&1 | FileCheck %s --check-prefix=NEGLR
mtir 1
graph affine {
  input %x : f32[2,3]
  param %w : f32[3,2]
  param %b : f32[2]
  %h = matmul %x, %w
  %y = add %h, %b
  %l = sum %y
  output %l, %y
}
# SGD:      param %b : f32[2]
# SGD-NEXT: state %sgd.mom.w : f32[3,2]
# SGD-NEXT: state %sgd.mom.b : f32[2]
# SGD:      %sgd.lr = const value=0.1 : f32[]
# SGD:      %sgd.momentum = const value=0.9 : f32[]
# SGD:      update %sgd.mom.w <- %sgd.mom.w.next
# SGD:      update %w <- %w.next
# SGD-NEXT: update %b <- %b.next
# SGD-NEXT: output %l, %y
# ADAM:     state %adam.t : f32[]
# ADAM-NEXT: state %adam.m.w : f32[3,2]
# ADAM-NEXT: state %adam.v.w : f32[3,2]
# ADAM-NOT: adam.m.b
# ADAM:     update %w <- %w.next
# ADAM-NEXT: update %adam.t <- %adam.t.next
# NOOPT: mtc step: --optimizer is required (sgd or adam)
# WRONGFLAG: mtc step: --momentum does not apply to --optimizer adam
# NAN: mtc step: --lr: 'fast' is not a number
# INPUT: cli.mt:12:9: step: %x is an input, not a param
# NEGLR: step: invalid learning rate -1 (must be >= 0)
