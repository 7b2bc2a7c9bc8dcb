# dump --stats: one row per stage, FLOPs and bytes of a naive run (docs/passes.md).
# RUN: %mtc dump %s --stats | FileCheck %s
mtir 1
graph mlp {
  input %x : f32[4,8]
  param %w1 : f32[8,16]
  param %b1 : f32[16]
  param %w2 : f32[16,3]
  %one = const value=1 : f32[]
  %h = matmul %x, %w1
  %h1 = mul %h, %one
  %a = add %h1, %b1
  %y = relu %a
  %o = matmul %y, %w2
  %s = sum %o dim=1
  %m = mean %s
  output %o, %m
}
# CHECK:      stage           nodes          flops          bytes           peak
# CHECK-NEXT: parsed              8      1616 FLOP         3084 B         1412 B
# CHECK-NEXT: fold                8      1616 FLOP         3084 B         1412 B
# CHECK-NEXT: algebraic           7      1552 FLOP         2568 B         1408 B
# CHECK-NEXT: cse                 7      1552 FLOP         2568 B         1408 B
# CHECK-NEXT: dce                 6      1552 FLOP         2564 B         1408 B
# CHECK-NEXT: fused               3      1552 FLOP         1508 B         1204 B
