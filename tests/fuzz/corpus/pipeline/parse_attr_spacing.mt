mtir 1
graph g {
  input %x : f32[4,3]
  %s = sum %x dim=1
  %y = slice %x start=[0,1]end=[2,3]
  output %y, %s
}
