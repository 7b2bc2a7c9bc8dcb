mtir 1
graph bcast {
  param %a : f64[3,1]
  param %b : f64[4]
  param %unused : f64[2]
  input %c : f64[3,4]
  %m = maximum %a, %b
  %w = where %c, %m, %b
  %s = sum %w
  output %s
}
