mtir 1
graph affine {
  input %x : f32[2,3]
  param %w : f32[3,2]
  %y = matmul %x, %w
  %r = relu %y
  %s = sum %r
  output %s, %y
}
