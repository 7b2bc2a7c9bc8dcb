# A small classifier for examples/aot: 4 samples of 8 features, one hidden layer of 16, 3
# classes. `mtc compile` turns it into libnet.so and net.h (graph `net`: net_run, NET_*).
mtir 1
graph net {
  input %x : f32[4,8]
  param %w1 : f32[8,16]
  param %b1 : f32[16]
  param %w2 : f32[16,3]
  param %b2 : f32[3]
  %h = matmul %x, %w1
  %a = add %h, %b1
  %r = relu %a
  %l = matmul %r, %w2
  %z = add %l, %b2
  %m = max %z dim=1
  %s = sub %z, %m
  %e = exp %s
  %se = sum %e dim=1
  %p = div %e, %se
  output %p
}
