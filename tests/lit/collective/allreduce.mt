# allreduce prints back as parsed, is its own kernel boundary, differentiates into an allreduce
# of the adjoint (checked against central differences: one rank, the identity), and `mtc step
# --data-parallel` averages every gradient in one bucket.
# RUN: %mtc dump %s | FileCheck %s
# RUN: %mtc dump %s --stage kernels | FileCheck %s --check-prefix=KERNELS
# RUN: %mtc grad %s | FileCheck %s --check-prefix=GRAD
# RUN: %mtc gradcheck %s | FileCheck %s --check-prefix=CHECK-GRAD
# RUN: %mtc step %s --optimizer sgd --data-parallel | FileCheck %s --check-prefix=STEP
# RUN: sed 's/op=mean/op=max/' %s > %t.bad.mt; exits 1 %mtc dump %t.bad.mt 2>&1 | FileCheck %s --check-prefix=BAD
mtir 1
graph dp {
  input %x : f32[4,3]
  param %w : f32[3,2]
  param %b : f32[2]
  %h = matmul %x, %w
  %z = add %h, %b
  %t = tanh %z
  %r = allreduce %t op=mean
  %l = sum %r
  output %l
}
# CHECK: %r = allreduce %t op=mean : f32[4,2]
# KERNELS: ; then allreduce b{{[0-9]+}} op=mean
# GRAD: allreduce %{{[0-9]+}} op=mean : f32[4,2]
# CHECK-GRAD: all 2 gradients match
# STEP: %grad.bucket0.mean = allreduce %grad.bucket0 op=mean : f32[8]
# STEP-NOT: allreduce
# BAD: {{.*}}:18:24: expected 'sum' or 'mean', got 'max'
