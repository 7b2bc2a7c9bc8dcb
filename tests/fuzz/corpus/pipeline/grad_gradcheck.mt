mtir 1
graph kink {
  param %w : f32[3,2]
  param %v : f32[2]
  %r = relu %w
  %l = mul %r, %v
  %s = sum %l
  output %s
}
