# Every attribute form prints canonically: lists, one-int strides expanded, floats shortest.
# RUN: %mtc dump %s | FileCheck %s
# RUN: %mtc dump %s > %t && %mtc dump %t | diff - %t
mtir 1
graph attrs {
  input %x : f32[2,3,8,8]
  input %w : f32[4,3,3,3]
  input %s : f32[2,3,10]
  input %k : f32[5,3,3]
  %c = conv2d %x, %w stride=2 padding=1
  %c1 = conv1d %s, %k stride=2 padding=1
  %p = maxpool2d %x kernel=[2,3]
  %q = avgpool2d %x kernel=2
  %r = reshape %x shape=[6,-1]
  %t = permute %r perm=[1,0]
  %e = expand %t shape=[2,64,6]
  %sl = slice %x start=[0,1,2,-3] end=[2,3,8,8]
  %pd = pad %s pads=[0,0,1,0,2,3]
  %cc = concat %s, %s dim=-1
  %k1 = const value=0.1 : f32[2]
  %k2 = const value=-inf : f64[]
  %k3 = const value=1e-30 : f32[]
  %rn = rand seed=42 : f32[3,3]
  output %c, %c1, %p, %q, %e, %sl, %pd, %cc, %k1, %k2, %k3, %rn
}
# CHECK: %c = conv2d %x, %w stride=[2,2] padding=[1,1] : f32[2,4,4,4]
# CHECK: %c1 = conv1d %s, %k stride=2 padding=1 : f32[2,5,5]
# CHECK: %p = maxpool2d %x kernel=[2,3] : f32[2,3,4,2]
# CHECK: %q = avgpool2d %x kernel=[2,2] : f32[2,3,4,4]
# CHECK: %r = reshape %x shape=[6,64] : f32[6,64]
# CHECK: %t = permute %r perm=[1,0] : f32[64,6]
# CHECK: %e = expand %t shape=[2,64,6] : f32[2,64,6]
# CHECK: %sl = slice %x start=[0,1,2,5] end=[2,3,8,8] : f32[2,2,6,3]
# CHECK: %pd = pad %s pads=[0,0,1,0,2,3] : f32[2,4,15]
# CHECK: %cc = concat %s, %s dim=-1 : f32[2,3,20]
# CHECK: %k1 = const value=0.1 : f32[2]
# CHECK: %k2 = const value=-inf : f64[]
# CHECK: %k3 = const value=1e-30 : f32[]
# CHECK: %rn = rand seed=42 : f32[3,3]
