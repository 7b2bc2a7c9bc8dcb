mtir 1
graph inplace {
  input %x : f64[64,1031]
  %t = exp %x
  %s = sum %t dim=1
  %u = neg %t
  %v = sum %u dim=1
  %w = sum %u dim=0
  output %s, %v, %w
}
