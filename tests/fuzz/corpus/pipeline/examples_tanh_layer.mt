mtir 1
graph layer {
  input %x : f32[4,3]
  param %w : f32[3,5]
  param %b : f32[5]
  %h = matmul %x, %w
  %a = add %h, %b
  %y = tanh %a
  %loss = mean %y
  output %loss
}
