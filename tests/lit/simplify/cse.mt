# cse: a value computed twice is computed once, and its users merge in the same sweep;
# rands merge only with equal seeds; two outputs that become one value keep both names.
# RUN: %mtc dump %s --stage optimized | FileCheck %s
# RUN: %mtc dump %s --stage optimized > %t && %mtc dump %t --stage optimized | diff - %t
mtir 1
graph cse {
  input %x : f32[3]
  input %w : f32[3]
  %a = add %x, %w
  %b = add %x, %w
  %ea = exp %a
  %eb = exp %b
  %m = mul %ea, %eb
  %r1 = rand seed=1 : f32[3]
  %r2 = rand seed=2 : f32[3]
  %r3 = rand seed=1 : f32[3]
  %n = add %r1, %r2
  %n2 = add %n, %r3
  %t1 = tanh %x
  %t2 = tanh %x
  output %m, %n2, %t1, %t2
}
# CHECK:      input %x : f32[3]
# CHECK-NEXT: input %w : f32[3]
# CHECK-NEXT: %a = add %x, %w : f32[3]
# CHECK-NEXT: %ea = exp %a : f32[3]
# CHECK-NEXT: %m = mul %ea, %ea : f32[3]
# CHECK-NEXT: %r1 = rand seed=1 : f32[3]
# CHECK-NEXT: %r2 = rand seed=2 : f32[3]
# CHECK-NEXT: %n = add %r1, %r2 : f32[3]
# CHECK-NEXT: %n2 = add %n, %r1 : f32[3]
# CHECK-NEXT: %t1 = tanh %x : f32[3]
# CHECK-NEXT: %t2 = reshape %t1 shape=[3] : f32[3]
# CHECK-NEXT: output %m, %n2, %t1, %t2
