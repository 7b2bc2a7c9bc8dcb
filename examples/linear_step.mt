# One step of SGD with momentum 0.9 on a linear model, written by hand (docs/mtir.md).
mtir 1
graph linear {
  input %x : f32[8,3]
  input %y : f32[8,1]
  param %w : f32[3,1]
  state %mom.w : f32[3,1]           # momentum buffer; starts at zero
  state %step : f32[]               # how many steps were taken before this one
  %p = matmul %x, %w : f32[8,1]
  %d = sub %p, %y : f32[8,1]
  %sq = mul %d, %d : f32[8,1]
  %loss = mean %sq : f32[]
  # d loss / d w = x^T (2 d / 8)
  %k = const value=0.25 : f32[]
  %g0 = mul %d, %k : f32[8,1]
  %xt = permute %x perm=[1,0] : f32[3,8]
  %g = matmul %xt, %g0 : f32[3,1]
  # mom = 0.9 mom + g ; w = w - 0.01 mom
  %mu = const value=0.9 : f32[]
  %m0 = mul %mom.w, %mu : f32[3,1]
  %m1 = add %m0, %g : f32[3,1]
  %lr = const value=0.01 : f32[]
  %s = mul %m1, %lr : f32[3,1]
  %w1 = sub %w, %s : f32[3,1]
  %one = const value=1 : f32[]
  %step1 = add %step, %one : f32[]
  update %w <- %w1
  update %mom.w <- %m1
  update %step <- %step1
  output %loss
}
