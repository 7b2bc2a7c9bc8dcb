# Logistic regression on 2-D points, batch 10: the loss graph of a FILE.mt model for the
# `mtc train` tests. %logits gives the accuracy (logits > 0 against y : [B,1]).
mtir 1
graph logistic {
  input %x : f32[10,2]
  input %y : f32[10,1]
  param %w : f32[2,1]
  param %b : f32[1]
  %z = matmul %x, %w
  %logits = add %z, %b
  %p = sigmoid %logits
  %one = const value=1 : f32[]
  %q = sub %one, %p
  %lp = log %p
  %lq = log %q
  %a = mul %y, %lp
  %ny = sub %one, %y
  %c = mul %ny, %lq
  %s = add %a, %c
  %m = mean %s
  %loss = neg %m
  output %loss, %logits
}
