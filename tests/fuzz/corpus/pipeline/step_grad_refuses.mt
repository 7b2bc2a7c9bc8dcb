mtir 1
graph g {
  input %x : f32[2]
  param %w : f32[2]
  %y = mul %x, %w
  %l = sum %y
  update %w <- %y
  output %l
}
