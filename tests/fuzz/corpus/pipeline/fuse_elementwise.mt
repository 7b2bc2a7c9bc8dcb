mtir 1
graph chain {
  input %x : f32[4,8]
  input %b : f32[8]
  input %s : f32[]
  %a = add %x, %b
  %e = exp %a
  %t = mul %e, %s
  %y = sigmoid %t
  output %y
}
