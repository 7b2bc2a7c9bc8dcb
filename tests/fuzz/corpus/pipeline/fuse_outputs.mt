mtir 1
graph outputs {
  input %x : f32[4]
  %c = const value=1.5 : f32[4]
  %dead = exp %x
  %y = add %x, %c
  output %y, %c, %x
}
