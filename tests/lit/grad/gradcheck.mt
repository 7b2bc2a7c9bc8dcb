# `mtc gradcheck` compares `mtc grad` with central differences in f64, one line per param.
# With random inputs it prints the seed; with --in it uses the given values. At relu's kink
# (w[0,1] = 0 in kink.in) the subgradient 0 differs from the central difference 1/2: the
# check fails (exit 1) and names the node whose rule disagrees.
# RUN: %mtc gradcheck %s --seed 7 | FileCheck %s --check-prefix=RANDOM
# RUN: %mtc gradcheck %s --in %S/smooth.in.safetensors | FileCheck %s --check-prefix=SMOOTH
# RUN: exits 1 %mtc gradcheck %s --in %S/kink.in.safetensors --seed 1 | FileCheck %s --check-prefix=KINK
# RUN: exits 1 %mtc gradcheck %s --in %S/kink_wrong_shape.in.safetensors 2>&1 | FileCheck %s --check-prefix=SHAPE
# RUN: exits 1 %mtc gradcheck %s --in %S/nope.safetensors 2>&1 | FileCheck %s --check-prefix=NOFILE
# RUN: exits 2 %mtc gradcheck %s --eps 0 2>&1 | FileCheck %s --check-prefix=EPS
# RUN: exits 2 %mtc gradcheck %s --seed -3 2>&1 | FileCheck %s --check-prefix=SEED
# RUN: %mtc gradcheck --help | FileCheck %s --check-prefix=HELP
mtir 1
graph kink {
  param %w : f32[3,2]
  param %v : f32[2]
  %r = relu %w
  %l = mul %r, %v
  %s = sum %l
  output %s
}
# RANDOM: graph kink: random inputs, seed 7
# RANDOM-NEXT: gradient of %s by central differences in f64 (eps 1e-06, tol 1e-05)
# RANDOM-NEXT: param max abs err max rel err status
# RANDOM-NEXT: %w {{.*}} ok
# RANDOM-NEXT: %v {{.*}} ok
# RANDOM-NEXT: all 2 gradients match
# SMOOTH: graph kink: inputs from {{.*}}smooth.in.safetensors
# SMOOTH: all 2 gradients match
# KINK: %w 1 1 FAIL
# KINK-NEXT: %v {{.*}} ok
# KINK-NEXT: first node whose vector-Jacobian rule disagrees with central differences:
# KINK-NEXT: %r = relu (node 2, line 17), d/d%w: max abs err {{.*}}
# KINK-NEXT: relu is not differentiable everywhere
# SHAPE: kink_wrong_shape.in.safetensors: tensor 'w' is f32[2,3] but %w has shape [3,2]
# NOFILE: nope.safetensors
# EPS: mtc gradcheck: --eps needs a positive number, got '0'
# SEED: mtc gradcheck: --seed needs a non-negative integer, got '-3'
# HELP: usage: mtc gradcheck FILE.mt [--in IN.safetensors] [--seed N] [--eps E] [--tol T]
