# RUN: exits 1 %mtc dump %s 2>&1 | FileCheck %s
# CHECK: {{.*}}bad_version.mt:3:6: unsupported MTIR version 2 (this is version 1)
mtir 2
graph g {
  input %x : f32[4]
  output %x
}
