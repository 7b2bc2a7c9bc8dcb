# A loss whose log sees exactly 0 at the first step (nan.mt).
mtir 1
graph log0 {
  input %x : f32[5,2]
  input %y : f32[5,1]
  param %w : f32[1]
  %a = abs %x
  %n = neg %a
  %r = relu %n
  %l = log %r
  %m = mean %l
  %loss = neg %m
  output %loss
}
