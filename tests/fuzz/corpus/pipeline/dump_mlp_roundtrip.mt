mtir 1
graph mlp {
  input %x : f32[8,16]
  param %w1 : f32[16,4]
  param %b1 : f32[4]
  %h = matmul %x, %w1
  %a = add %h, %b1
  %y = relu %a
  %s = sum %y dim=-1
  %m = mean %s
  output %y, %m
}
