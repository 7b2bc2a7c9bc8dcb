mtir 2
graph g {
  input %x : f32[4]
  output %x
}
