# The forward pass of examples/fashion_mlp.mt alone, with the same param names, for
# `mtc compile --weights` of what `mtc train --save` wrote: one 28x28 image (784 values in
# [0,1]) in, ten class probabilities out.
mtir 1
graph fashion_mlp_predict {
  input %x : f32[1,784]
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
  %probs = div %e, %se
  output %probs
}
