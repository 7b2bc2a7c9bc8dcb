# `mtc run` feeds inputs and params by name, ignores extra tensors and writes outputs by name.
# RUN: %mtc run %s --in %S/affine.in.safetensors --out %t --backend interp && %mtc show %t | FileCheck %s
# RUN: exits 1 %mtc run %s --in %S/affine_missing_w.in.safetensors --out %t --backend interp 2>&1 | FileCheck %s --check-prefix=MISSING
# RUN: exits 1 %mtc run %s --in %S/affine_wrong_shape.in.safetensors --out %t --backend interp 2>&1 | FileCheck %s --check-prefix=SHAPE
# RUN: exits 1 %mtc run %s --in %S/affine_wrong_dtype.in.safetensors --out %t --backend interp 2>&1 | FileCheck %s --check-prefix=DTYPE
# RUN: exits 1 %mtc run %s --in %S/nope.safetensors --out %t --backend interp 2>&1 | FileCheck %s --check-prefix=NOFILE
# RUN: exits 2 %mtc run %s --in %S/affine.in.safetensors --out %t --backend tpu 2>&1 | FileCheck %s --check-prefix=BACKEND
# RUN: exits 2 %mtc run %s --out %t 2>&1 | FileCheck %s --check-prefix=NOIN
# RUN: %mtc run --help | FileCheck %s --check-prefix=HELP
# CHECK: y : f32[2,2]
# CHECK-NEXT: -4.75 2.375
# CHECK-NEXT: 5.75 -1.375
# CHECK-NEXT: r : f32[2,2]
# CHECK-NEXT: 0 2.375
# CHECK-NEXT: 5.75 0
# CHECK-NEXT: s : f32[]
# CHECK-NEXT: 8.125
# MISSING: {{.*}}affine_missing_w.in.safetensors: missing tensor 'w' for param %w
# SHAPE: {{.*}}affine_wrong_shape.in.safetensors: tensor 'x' is f32[3,2] but %x is declared f32[2,3]
# DTYPE: {{.*}}affine_wrong_dtype.in.safetensors: tensor 'x' is f64[2,3] but %x is declared f32[2,3]
# NOFILE: {{.*}}nope.safetensors
# BACKEND: mtc run: unknown backend 'tpu'
# NOIN: mtc run: --in is required
# HELP: usage: mtc run FILE.mt --in IN.safetensors --out OUT.safetensors
mtir 1
graph affine {
  input %x : f32[2,3]
  param %w : f32[3,2]
  %y = matmul %x, %w
  %r = relu %y
  %s = sum %r
  output %y, %r, %s
}
