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
