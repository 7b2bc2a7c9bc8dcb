mtir 1
graph g {
  input %x : f32[4]
  %y = neg %x
  %x = neg %y
  output %x
}
