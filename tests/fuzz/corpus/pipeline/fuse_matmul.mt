mtir 1
graph mlp {
  input %x : f32[32,64]
  param %w : f32[10,64]
  param %b : f32[10]
  %t = tanh %x
  %wt = permute %w perm=[1,0]
  %h = matmul %t, %wt
  %a = add %h, %b
  %y = relu %a
  output %y
}
