# LeNet as `mtc train --model lenet` builds it (conv 8 and 16 of 5x5 with bias, ReLU, 2x2
# max-pool, fc 64, ReLU, fc 10) on a batch of 64 28x28 images, with softmax cross-entropy on
# one-hot labels: the first output is the loss (for `mtc step`), the second the logits.
mtir 1
graph lenet {
  input %x : f32[64,1,28,28]
  input %y : f32[64,10]
  param %c1 : f32[8,1,5,5]
  param %cb1 : f32[8,1,1]
  param %c2 : f32[16,8,5,5]
  param %cb2 : f32[16,1,1]
  param %w1 : f32[256,64]
  param %b1 : f32[64]
  param %w2 : f32[64,10]
  param %b2 : f32[10]
  %k1 = conv2d %x, %c1
  %z1 = add %k1, %cb1
  %r1 = relu %z1
  %p1 = maxpool2d %r1 kernel=[2,2]
  %k2 = conv2d %p1, %c2
  %z2 = add %k2, %cb2
  %r2 = relu %z2
  %p2 = maxpool2d %r2 kernel=[2,2]
  %f = reshape %p2 shape=[64,256]
  %h = matmul %f, %w1
  %z3 = add %h, %b1
  %r3 = relu %z3
  %o = matmul %r3, %w2
  %logits = add %o, %b2
  %m = max %logits dim=1
  %s = sub %logits, %m
  %e = exp %s
  %se = sum %e dim=1
  %lse = log %se
  %logp = sub %s, %lse
  %ly = mul %logp, %y
  %row = sum %ly dim=1
  %mean = mean %row
  %loss = neg %mean
  output %loss, %logits
}
