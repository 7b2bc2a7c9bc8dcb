mtir 1
graph g {
  input %x : f32[3]
  param %%W : f32[3]
  %y = mul %x, %%W
  %l = sum %y
  output %l
}
