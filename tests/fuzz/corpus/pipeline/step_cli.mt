mtir 1
graph affine {
  input %x : f32[2,3]
  param %w : f32[3,2]
  param %b : f32[2]
  %h = matmul %x, %w
  %y = add %h, %b
  %l = sum %y
  output %l, %y
}
