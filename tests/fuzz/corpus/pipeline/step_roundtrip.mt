mtir 1
graph sgd {
  input %x : f32[4,2]
  param %w : f32[2,1]
  state %step : f32[]
  %y = matmul %x, %w
  %loss = mean %y
  %lr = const value=0.05 : f32[2,1]
  %g = sum %x dim=0
  %gt = reshape %g shape=[2,1]
  %d = mul %gt, %lr
  %w.new = sub %w, %d
  %one = const value=1 : f32[]
  %step.new = add %step, %one
  %noise = rand %step seed=7 : f32[2,1]
  update %w <- %w.new
  update %step <- %step.new
  output %loss, %noise
}
