mtir 1
graph g {
  input %x : f32[4,0]
  output %x
}
