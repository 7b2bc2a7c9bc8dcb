# A small classifier for the optimiser tests: 4 -> 5 (relu) -> 3, softmax cross-entropy on
# one-hot labels (max-subtracted log-softmax). The first output is the mean loss.
mtir 1
graph mlp {
  input %x : f32[8,4]
  input %y : f32[8,3]
  param %w1 : f32[4,5]
  param %b1 : f32[5]
  param %w2 : f32[5,3]
  param %b2 : f32[3]
  %h = matmul %x, %w1
  %z = add %h, %b1
  %a = relu %z
  %o = matmul %a, %w2
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
