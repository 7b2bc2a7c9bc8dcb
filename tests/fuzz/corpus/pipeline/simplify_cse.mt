mtir 1
graph cse {
  input %x : f32[3]
  input %w : f32[3]
  %a = add %x, %w
  %b = add %x, %w
  %ea = exp %a
  %eb = exp %b
  %m = mul %ea, %eb
  %r1 = rand seed=1 : f32[3]
  %r2 = rand seed=2 : f32[3]
  %r3 = rand seed=1 : f32[3]
  %n = add %r1, %r2
  %n2 = add %n, %r3
  %t1 = tanh %x
  %t2 = tanh %x
  output %m, %n2, %t1, %t2
}
