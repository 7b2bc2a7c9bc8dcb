# fold: ops whose operands are all consts become one const of the same type, under the same
# name (e = exp(2 * 0.5), rounded to f32 once); movement ops and reductions of a const are
# consts (m = max of sums of four 0.25s); a non-uniform result (a padded 3) is left alone.
# RUN: %mtc dump %s --stage optimized | FileCheck %s
# RUN: %mtc dump %s --stage optimized > %t && %mtc dump %t --stage optimized | diff - %t
mtir 1
graph fold {
  input %x : f32[2,3]
  %a = const value=2 : f32[2,3]
  %b = const value=0.5 : f32[3]
  %c = mul %a, %b
  %e = exp %c
  %big = const value=0.25 : f32[4,6]
  %r = reshape %big shape=[6,4]
  %t = permute %r perm=[1,0]
  %s = sum %t dim=0
  %m = max %s
  %three = const value=3 : f32[2,3]
  %p = pad %three pads=[0,1,0,0]
  %y = mul %x, %e
  %z = add %x, %m
  output %y, %z, %p
}
# CHECK:      input %x : f32[2,3]
# CHECK-NEXT: %e = const value=2.7182817 : f32[2,3]
# CHECK-NEXT: %m = const value=1 : f32[]
# CHECK-NEXT: %three = const value=3 : f32[2,3]
# CHECK-NEXT: %p = pad %three pads=[0,1,0,0] : f32[3,3]
# CHECK-NEXT: %y = mul %x, %e : f32[2,3]
# CHECK-NEXT: %z = add %x, %m : f32[2,3]
# CHECK-NEXT: output %y, %z, %p
