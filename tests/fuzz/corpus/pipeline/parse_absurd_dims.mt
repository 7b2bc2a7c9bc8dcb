mtir 1
graph g {
  input %x : f32[1000000,1000000,1000000]
  output %x
}
