# A model with an input mtc train cannot feed (errors.mt).
mtir 1
graph two {
  input %x : f32[10,2]
  input %y : f32[10,1]
  input %mask : f32[10,1]
  param %w : f32[2,1]
  %z = matmul %x, %w
  %m = mul %z, %mask
  %loss = mean %m
  output %loss
}
