mtir 1
graph layer {
  input %x : f32[3,8,16]
  param %w : f32[4,16]
  param %b : f32[4]
  %xs = slice %x start=[1,0,0] end=[3,8,16]
  %wt = permute %w perm=[1,0]
  %h = matmul %xs, %wt
  %a = add %h, %b
  %y = relu %a
  output %y
}
