# RUN: exits 1 %mtc dump %s 2>&1 | FileCheck %s
# CHECK: {{.*}}missing_output.mt:7:1: missing 'output' line before '}'
mtir 1
graph g {
  input %x : f32[4]
  %y = neg %x
}
