mtir 1
graph g {
  input %x : f32[4]
  %y = relux %x
  output %y
}
