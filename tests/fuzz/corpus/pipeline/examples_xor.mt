mtir 1
graph xor {
  input %x : f32[16,2]
  input %y : f32[16,1]
  param %w1 : f32[2,10]
  param %b1 : f32[10]
  param %w2 : f32[10,10]
  param %b2 : f32[10]
  param %w3 : f32[10,1]
  param %b3 : f32[1]
  %h1 = matmul %x, %w1
  %z1 = add %h1, %b1
  %a1 = relu %z1
  %h2 = matmul %a1, %w2
  %z2 = add %h2, %b2
  %a2 = relu %z2
  %h3 = matmul %a2, %w3
  %z3 = add %h3, %b3
  %p = sigmoid %z3
  %one = const value=1 : f32[]
  %q = sub %one, %p
  %ny = sub %one, %y
  %t1 = mul %p, %y
  %t2 = mul %q, %ny
  %prob = add %t1, %t2
  %lp = log %prob
  %m = mean %lp
  %loss = neg %m
  output %loss, %p
}
