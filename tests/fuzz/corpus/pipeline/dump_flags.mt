mtir 1
graph g {
  input %x : f32[2,3]
  param %w : f32[3,2]
  %y = matmul %x, %w
  %l = sum %y
  output %l, %y
}
