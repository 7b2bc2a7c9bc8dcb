mtir 1
graph g {
  input %x : f32[4,3]
  %s = sum %x axis=1
  output %s
}
