mtir 1
graph g {
  input %a : f32[2,3]
  input %b : f32[3,4]
  %c = matmul %a, %b : f32[2,5]
  output %c
}
