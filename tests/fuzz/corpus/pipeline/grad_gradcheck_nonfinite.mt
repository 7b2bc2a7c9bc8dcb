mtir 1
graph nf {
  input %x : f32[3]
  param %a : f32[3]
  param %w : f32[3]
  %z = sub %x, %x
  %n = div %z, %z
  %q = mul %w, %n
  %p = mul %a, %x
  %s = add %p, %q
  %l = sum %s
  output %l
}
