mtir 1
graph g {
  input %x : f16[4]
  output %x
}
