mtir 1
graph g {
  input %x : f32[2,3,8,8]
  input %w : f32[4,3,3,3]
  %c = conv2d %x, %w stride=[2,2] padding=[111111111,111111111]
  output %c
}
