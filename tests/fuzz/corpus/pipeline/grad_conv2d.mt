mtir 1
graph cnn {
  input %x : f32[1,2,5,5]
  param %w : f32[3,2,3,2]
  %c = conv2d %x, %w stride=2 padding=1
  %s = sum %c
  output %s
}
