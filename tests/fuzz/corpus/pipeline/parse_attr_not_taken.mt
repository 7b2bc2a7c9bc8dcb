mtir 1
graph g {
  input %x : f32[4,3]
  %s = neg %x dim=1
  output %s
}
