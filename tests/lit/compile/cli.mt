# `mtc compile` writes a shared object and its header; bad weights, paths, graphs and flags
# fail with the exit codes of SPEC section 4 and leave no file behind.
# RUN: rm -rf %t.d && mkdir %t.d && %mtc compile %s -o %t.d/libcc.so --weights %S/../run/affine.in.safetensors && test -s %t.d/libcc.so && FileCheck %s --check-prefix=HEADER < %t.d/compile_cli.h
# RUN: %mtc compile %s -o %t.d/libcc2.so --weights %S/../run/affine.in.safetensors --header %t.d/other.h --target x86-64-v2 && test -s %t.d/other.h
# RUN: exits 1 %mtc compile %s -o %t.d/libm.so --weights %S/../run/affine_missing_w.in.safetensors 2>&1 | FileCheck %s --check-prefix=MISSING
# RUN: exits 1 %mtc compile %s -o %t.d/libm.so --weights %S/../run/affine_wrong_shape.in.safetensors 2>&1 | FileCheck %s --check-prefix=SHAPE
# RUN: exits 1 %mtc compile %s -o %t.d/libm.so --weights %S/../run/affine_wrong_dtype.in.safetensors 2>&1 | FileCheck %s --check-prefix=DTYPE
# RUN: exits 1 %mtc compile %s -o %t.d/libm.so 2>&1 | FileCheck %s --check-prefix=NOWEIGHTS
# RUN: exits 1 %mtc compile %s -o %t.d/no/such/libm.so --weights %S/../run/affine.in.safetensors 2>&1 | FileCheck %s --check-prefix=UNWRITABLE
# RUN: exits 1 %mtc compile %s -o %t.d/libm.so --weights %S/../run/affine.in.safetensors --target nosuchcpu 2>&1 | FileCheck %s --check-prefix=TARGET
# RUN: test ! -e %t.d/libm.so && test ! -e %t.d/no
# RUN: printf 'mtir 1\ngraph g {\n  input %%x : f32[2]\n  %%y = relux %%x\n  output %%y\n}\n' > %t.d/bad.mt && exits 1 %mtc compile %t.d/bad.mt -o %t.d/libg.so 2>&1 | FileCheck %s --check-prefix=PARSE
# RUN: exits 2 %mtc compile %s 2>&1 | FileCheck %s --check-prefix=NOOUT
# RUN: exits 2 %mtc compile %s -o %t.d/libm.so --fast 2>&1 | FileCheck %s --check-prefix=FLAG
# RUN: %mtc compile --help | FileCheck %s --check-prefix=HELP
# HEADER: #define COMPILE_CLI_IN_INPUT 0
# HEADER: #define COMPILE_CLI_IN_SHAPE {1, 2}
# HEADER: /* param (baked in) %x : f32[2,3] (float, 6 elements, 24 bytes) */
# HEADER: int compile_cli_run(const void *const *inputs, void *const *outputs);
# MISSING: {{.*}}affine_missing_w.in.safetensors: missing tensor 'w' for param %w
# SHAPE: {{.*}}affine_wrong_shape.in.safetensors: tensor 'x' is f32[3,2] but %x is declared f32[2,3]
# DTYPE: {{.*}}affine_wrong_dtype.in.safetensors: tensor 'x' is f64[2,3] but %x is declared f32[2,3]
# NOWEIGHTS: param %x needs a value: give --weights
# UNWRITABLE: {{.*}}no/such/libm.so: cannot create a file beside it
# TARGET: target: unknown CPU 'nosuchcpu'
# PARSE: {{.*}}bad.mt:4:8: unknown op 'relux'
# NOOUT: mtc compile: -o is required
# FLAG: mtc compile: unknown flag '--fast'
# HELP: usage: mtc compile FILE.mt -o libNAME.so
mtir 1
graph compile_cli {
  input %in : f32[1,2]
  param %x : f32[2,3]
  param %w : f32[3,2]
  %h = matmul %in, %x
  %y = matmul %h, %w
  output %y
}
