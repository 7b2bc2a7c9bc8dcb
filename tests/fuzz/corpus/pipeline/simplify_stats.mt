mtir 1
graph mlp {
  input %x : f32[4,8]
  param %w1 : f32[8,16]
  param %b1 : f32[16]
  param %w2 : f32[16,3]
  %one = const value=1 : f32[]
  %h = matmul %x, %w1
  %h1 = mul %h, %one
  %a = add %h1, %b1
  %y = relu %a
  %o = matmul %y, %w2
  %s = sum %o dim=1
  %m = mean %s
  output %o, %m
}
