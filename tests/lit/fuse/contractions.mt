# RUN: %mtc dump %s --stage fused --why | FileCheck %s
# One matmul or conv per kernel: of two matmuls added together, the later one takes the
# epilogue and the other is stored. A conv followed by bias, relu and pooling keeps the
# elementwise ops with the pooling, which reads each conv output once.
mtir 1
graph contractions {
  input %a : f32[8,16]
  param %w1 : f32[16,4]
  param %w2 : f32[16,4]
  input %x : f32[2,3,10,10]
  param %k : f32[6,3,3,3]
  param %bias : f32[6,1,1]
  %m1 = matmul %a, %w1
  %m2 = matmul %a, %w2
  %s = add %m1, %m2
  %c = conv2d %x, %k padding=1
  %cb = add %c, %bias
  %r = relu %cb
  %p = maxpool2d %r kernel=[2,2]
  output %s, %p
}

# CHECK: # fused graph contractions: 4 kernels
# CHECK-NEXT: kernel k0 matmul {
# CHECK-NEXT:   %m1 = matmul %a, %w1 : f32[8,4]  # stored: k1 already computes %m2
# CHECK-NEXT: }
# CHECK-NEXT: kernel k1 matmul {
# CHECK-NEXT:   %m2 = matmul %a, %w2 : f32[8,4]
# CHECK-NEXT:   %s = add %m1, %m2 : f32[8,4]  # stored: graph output
# CHECK-NEXT: }
# CHECK-NEXT: kernel k2 conv2d {
# CHECK-NEXT:   %c = conv2d %x, %k : f32[2,6,10,10]  # stored: its readers in k3 are not an elementwise epilogue of its shape
# CHECK-NEXT: }
# CHECK-NEXT: kernel k3 reduce {
# CHECK-NEXT:   %cb = add %c, %bias : f32[2,6,10,10]
# CHECK-NEXT:   %r = relu %cb : f32[2,6,10,10]
# CHECK-NEXT:   %p = maxpool2d %r : f32[2,6,5,5]  # stored: graph output
# CHECK-NEXT: }
