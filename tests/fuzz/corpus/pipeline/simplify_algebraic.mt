mtir 1
graph algebraic {
  input %x : f32[2,3,4]
  input %v : f32[4]
  %one = const value=1 : f32[]
  %zero = const value=0 : f32[3,4]
  %a = mul %x, %one
  %b = add %a, %zero
  %c = sub %b, %zero
  %d = div %c, %one
  %n = neg %d
  %nn = neg %n
  %r1 = reshape %nn shape=[6,4]
  %r2 = reshape %r1 shape=[24]
  %r3 = reshape %r2 shape=[2,12]
  %p1 = permute %r3 perm=[1,0]
  %p2 = permute %p1 perm=[1,0]
  %s = sum %p2 dim=0
  %s1 = sum %s dim=0
  %vb = add %zero, %v
  %e1 = expand %vb shape=[1,3,4]
  %e2 = expand %e1 shape=[2,3,4]
  %q = permute %x perm=[2,0,1]
  %q2 = permute %q perm=[0,2,1]
  output %s1, %e2, %q2
}
