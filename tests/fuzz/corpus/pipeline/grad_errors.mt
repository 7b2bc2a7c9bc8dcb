mtir 1
graph errors {
  param %w : f32[2,3]
  %h = exp %w
  %s = sum %h
  output %s
}
