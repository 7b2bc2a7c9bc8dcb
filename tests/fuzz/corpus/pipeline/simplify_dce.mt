mtir 1
graph dce {
  param %p : f32[3]
  input %x : f32[3]
  %dead = exp %p
  %dead2 = log %dead
  input %unused : f64[2,2]
  param %q : f32[]
  %y = relu %x
  output %y
}
