mtir 1
graph unused {
  input %x : f32[1]
  output %x
}
