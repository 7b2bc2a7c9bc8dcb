mtir 1
graph g {
  input %x : f32[1,1,1,1,1,1,1]
  output %x
}
