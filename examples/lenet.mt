# LeNet on 28x28 images (Fashion-MNIST), as a loss graph for `mtc train --model`: conv 8 and 16
# of 5x5 with bias, each followed by relu and a 2x2 max-pool, fc 64, relu, fc 10, softmax
# cross-entropy on one-hot labels. The first output is the mean loss; %logits scores accuracy.
# examples/lenet_predict.mt is the same network without the loss, for `mtc compile`.
mtir 1
graph lenet {
  input %x : f32[64,1,28,28]
  input %y : f32[64,10]
  param %conv1.weight : f32[8,1,5,5]
  param %conv1.bias : f32[8]
  param %conv2.weight : f32[16,8,5,5]
  param %conv2.bias : f32[16]
  param %fc1.weight : f32[256,64]
  param %fc1.bias : f32[64]
  param %fc2.weight : f32[64,10]
  param %fc2.bias : f32[10]
  %c1 = conv2d %x, %conv1.weight
  %b1 = reshape %conv1.bias shape=[1,8,1,1]
  %c1b = add %c1, %b1
  %r1 = relu %c1b
  %p1 = maxpool2d %r1 kernel=[2,2]
  %c2 = conv2d %p1, %conv2.weight
  %b2 = reshape %conv2.bias shape=[1,16,1,1]
  %c2b = add %c2, %b2
  %r2 = relu %c2b
  %p2 = maxpool2d %r2 kernel=[2,2]
  %flat = reshape %p2 shape=[64,256]
  %h = matmul %flat, %fc1.weight
  %hb = add %h, %fc1.bias
  %a = relu %hb
  %o = matmul %a, %fc2.weight
  %logits = add %o, %fc2.bias
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
