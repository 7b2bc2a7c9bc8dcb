mtir 1
graph sums {
  input %x : f64[4]
  %c = const value=0.1 : f64[1000]
  %s = sum %c
  %one = const value=1 : f64[]
  %x1 = mul %x, %one
  %y = add %x1, %s
  output %y
}
