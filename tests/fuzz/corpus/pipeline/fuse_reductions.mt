mtir 1
graph reductions {
  input %x : f32[64,32]
  %mu = mean %x dim=1
  %d = sub %x, %mu
  %sq = mul %d, %d
  %var = mean %sq dim=1
  %col = sum %x dim=0
  %n = div %x, %col
  %tot = sum %x
  %f = sub %x, %tot
  output %var, %n, %f
}
