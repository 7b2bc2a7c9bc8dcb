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
