mtir 1
graph moves {
  input %x : f32[3,4,5]
  %p = permute %x perm=[2,0,1]
  %r = reshape %p shape=[5,12]
  %s = slice %r start=[1,0] end=[4,12]
  %e = expand %s shape=[2,3,12]
  %y = neg %e
  %z = sum %r dim=0
  %c = concat %r, %r dim=0
  output %y, %z, %c
}
