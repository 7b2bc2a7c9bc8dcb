# A Fashion-MNIST classifier as a loss graph for `mtc train --model`: 784 -> 256 -> 128 -> 10,
# relu, softmax cross-entropy on one-hot labels, batches of 64 (SPEC's built-in `mlp` with
# H = 256). The first output is the mean loss; %logits scores accuracy.
# examples/fashion_mlp_predict.mt is the same network without the loss, for `mtc compile`.
mtir 1
graph fashion_mlp {
  input %x : f32[64,784]
  input %y : f32[64,10]
  param %fc1.weight : f32[784,256]
  param %fc1.bias : f32[256]
  param %fc2.weight : f32[256,128]
  param %fc2.bias : f32[128]
  param %fc3.weight : f32[128,10]
  param %fc3.bias : f32[10]
  %h1 = matmul %x, %fc1.weight
  %z1 = add %h1, %fc1.bias
  %a1 = relu %z1
  %h2 = matmul %a1, %fc2.weight
  %z2 = add %h2, %fc2.bias
  %a2 = relu %z2
  %h3 = matmul %a2, %fc3.weight
  %logits = add %h3, %fc3.bias
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
