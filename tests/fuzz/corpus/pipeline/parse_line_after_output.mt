mtir 1
graph g {
  input %x : f32[4]
  output %x
  %z = neg %x
}
