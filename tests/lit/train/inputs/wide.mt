# A model for 3 features, trained on 2-D points (errors.mt).
mtir 1
graph wide {
  input %x : f32[10,3]
  input %y : f32[10,1]
  param %w : f32[3,1]
  %z = matmul %x, %w
  %loss = mean %z
  output %loss
}
