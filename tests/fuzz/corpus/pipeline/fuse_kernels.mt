mtir 1
graph norm {
  input %x : f32[16,100]
  %m = max %x dim=1
  %d = sub %x, %m
  %e = exp %d
  %s = sum %e dim=1
  %y = div %e, %s
  output %y
}
