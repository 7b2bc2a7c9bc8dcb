mtir 1
graph mlp {
  input %x : f32[4,3]
  param %w1 : f32[3,5]
  param %b1 : f32[5]
  %h = matmul %x, %w1
  %a = add %h, %b1
  %y = relu %a
  %m = mean %y
  output %m, %y
}
