mtir 1
graph notscalar {
  param %w : f32[2,3]
  %h = exp %w
  output %h
}
