mtir 1
graph names {
  input %x : f32[2]
  %one = const value=1 : f32[]
  %t = exp %x
  %y = mul %t, %one
  %z = add %x, %x
  %z1 = mul %z, %one
  %id = mul %x, %one
  output %y, %z, %z1, %id, %x
}
