mtir 1
graph norm {
  input %x : f32[16,100]
  input %b : f32[100]
  %a = add %x, %b
  %y = relu %a
  %s = sum %y dim=1
  output %s
}
