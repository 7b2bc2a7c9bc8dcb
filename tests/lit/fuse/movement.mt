# RUN: %mtc dump %s --stage fused | FileCheck %s
# Movement ops are never stored: each kernel that reads them turns them into index
# arithmetic (they are listed in every such kernel, marked inline). A movement op that is an
# output gets a copy kernel.
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

# CHECK: # fused graph moves: 3 kernels
# CHECK-NEXT: kernel k0 elementwise {
# CHECK-NEXT:   %p = permute %x : f32[5,3,4]  # inline
# CHECK-NEXT:   %r = reshape %p : f32[5,12]  # inline
# CHECK-NEXT:   %s = slice %r : f32[3,12]  # inline
# CHECK-NEXT:   %e = expand %s : f32[2,3,12]  # inline
# CHECK-NEXT:   %y = neg %e : f32[2,3,12]  # stored
# CHECK-NEXT: }
# CHECK-NEXT: kernel k1 reduce {
# CHECK-NEXT:   %p = permute %x : f32[5,3,4]  # inline
# CHECK-NEXT:   %r = reshape %p : f32[5,12]  # inline
# CHECK-NEXT:   %z = sum %r : f32[1,12]  # stored
# CHECK-NEXT: }
# CHECK-NEXT: kernel k2 copy {
# CHECK-NEXT:   %p = permute %x : f32[5,3,4]  # inline
# CHECK-NEXT:   %r = reshape %p : f32[5,12]  # inline
# CHECK-NEXT:   %c = concat %r, %r : f32[10,12]  # stored
# CHECK-NEXT: }
