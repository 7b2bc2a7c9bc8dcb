mtir 1
graph dense {
  input %x : f32[2,8,16]
  param %w : f32[4,16]
  param %b : f32[4]
  %wt = permute %w perm=[1,0]
  %h = matmul %x, %wt
  %a = add %h, %b
  %y = relu %a
  output %y
}
