mtir 1
graph mlp {
  input %x : f32[128,784]
  param %w1 : f32[784,256]
  param %b1 : f32[256]
  %h = matmul %x, %w1 : f32[128,256]
  %a = add %h, %b1
  %y = relu %a
  %s = sum %y dim=1
  %m = mean %s
  output %y, %m
}
