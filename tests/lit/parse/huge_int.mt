# RUN: exits 1 %mtc dump %s 2>&1 | FileCheck %s
# CHECK: {{.*}}huge_int.mt:5:20: integer 99999999999999999999999 out of range
mtir 1
graph g {
  input %x : f32[4,99999999999999999999999]
  output %x
}
