# RUN: exits 1 %mtc dump %s 2>&1 | FileCheck %s
# CHECK: {{.*}}bad_dtype.mt:5:14: unknown dtype 'f16' (expected f32 or f64)
mtir 1
graph g {
  input %x : f16[4]
  output %x
}
