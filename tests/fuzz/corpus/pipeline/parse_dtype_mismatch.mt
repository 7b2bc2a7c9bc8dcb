mtir 1
graph g {
  input %x : f32[4]
  input %y : f64[4]
  %a = mul %x, %y
  output %a
}
