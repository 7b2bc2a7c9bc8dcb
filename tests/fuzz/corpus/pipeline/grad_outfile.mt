mtir 1
graph affine {
  input %x : f32[2,3]
  param %w : f32[3,2]
  %y = matmul %x, %w
  %s = sum %y
  output %s
}
