mtir 1
graph cnn {
  param %x : f32[1,2,5,2]
  param %w : f32[3,2,3,1]
  %c = conv2d %x, %w stride=3 padding=1
  %s = sum %c
  output %s
}
