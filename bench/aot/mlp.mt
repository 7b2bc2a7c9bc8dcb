# The batch-1 latency model of bench/aot.sh: an MLP 784-256-128-10 (ReLU), logits out.
mtir 1
graph mlp {
  input %x : f32[1,784]
  param %w1 : f32[784,256]
  param %b1 : f32[256]
  param %w2 : f32[256,128]
  param %b2 : f32[128]
  param %w3 : f32[128,10]
  param %b3 : f32[10]
  %h1 = matmul %x, %w1
  %z1 = add %h1, %b1
  %a1 = relu %z1
  %h2 = matmul %a1, %w2
  %z2 = add %h2, %b2
  %a2 = relu %z2
  %h3 = matmul %a2, %w3
  %y = add %h3, %b3
  output %y
}
