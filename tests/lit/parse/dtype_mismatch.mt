# RUN: exits 1 %mtc dump %s 2>&1 | FileCheck %s
# CHECK: {{.*}}dtype_mismatch.mt:7:3: mul: operand dtypes f32 and f64 differ
mtir 1
graph g {
  input %x : f32[4]
  input %y : f64[4]
  %a = mul %x, %y
  output %a
}
