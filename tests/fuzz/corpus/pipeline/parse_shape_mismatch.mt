mtir 1
graph g {
  input %x : f32[4,3]
  input %y : f32[5]
  %a = add %x, %y
  output %a
}
