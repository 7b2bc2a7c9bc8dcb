# RUN: %mtc dump %s --stage llvm | FileCheck %s
# Each kernel is an exported function of the kernel ABI (buffer table, begin, end) whose body
# is optimised for the host CPU: the row loops are vectorised.
mtir 1
graph norm {
  input %x : f32[16,100]
  input %b : f32[100]
  %a = add %x, %b
  %y = relu %a
  %s = sum %y dim=1
  output %s
}
# CHECK: target triple =
# CHECK: define void @norm_k0(i8** {{.*}}, i64 {{.*}}, i64 {{.*}})
# CHECK: <{{[0-9]+}} x float>
# CHECK: fadd <{{[0-9]+}} x double>
