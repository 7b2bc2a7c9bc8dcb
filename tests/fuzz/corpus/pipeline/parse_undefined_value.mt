mtir 1
graph g {
  input %x : f32[4]
  %y = add %x, %z
  output %y
}
