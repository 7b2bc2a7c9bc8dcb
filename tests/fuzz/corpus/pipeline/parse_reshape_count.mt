mtir 1
graph g {
  input %x : f32[4,3]
  %r = reshape %x shape=[2,5]
  output %r
}
