mtir 1
graph shared {
  input %x : f64[8,8]
  %e = exp %x
  %a = sum %e dim=0
  %b = sum %e dim=1
  %l = log %x
  %sq = mul %l, %l
  %c = add %sq, %l
  output %a, %b, %c
}
