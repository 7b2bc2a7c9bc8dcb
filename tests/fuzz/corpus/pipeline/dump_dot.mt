mtir 1
graph tiny {
  input %x : f64[3]
  %y = exp %x
  output %y
}
