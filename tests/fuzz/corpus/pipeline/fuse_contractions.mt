mtir 1
graph contractions {
  input %a : f32[8,16]
  param %w1 : f32[16,4]
  param %w2 : f32[16,4]
  input %x : f32[2,3,10,10]
  param %k : f32[6,3,3,3]
  param %bias : f32[6,1,1]
  %m1 = matmul %a, %w1
  %m2 = matmul %a, %w2
  %s = add %m1, %m2
  %c = conv2d %x, %k padding=1
  %cb = add %c, %bias
  %r = relu %cb
  %p = maxpool2d %r kernel=[2,2]
  output %s, %p
}
