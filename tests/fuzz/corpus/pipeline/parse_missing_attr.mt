mtir 1
graph g {
  input %x : f32[4,3]
  %r = reshape %x
  output %r
}
