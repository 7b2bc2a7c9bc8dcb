# conv2d with stride 2 and padding 1. dx: dy dilated with zeros (reshape, pad, reshape, slice),
# padded, and convolved with w flipped (concat of slices in reverse order) and permuted to
# [C,O,KH,KW]. dw: x with batch and channels swapped, convolved with the dilated dy.
# RUN: %mtc grad %s --wrt x,w | FileCheck %s
# RUN: %mtc grad %s --wrt x,w -o %t && %mtc grad %t --wrt w | FileCheck %s --check-prefix=AGAIN
mtir 1
graph cnn {
  input %x : f32[1,2,5,5]
  param %w : f32[3,2,3,2]
  %c = conv2d %x, %w stride=2 padding=1
  %s = sum %c
  output %s
}
# CHECK:      %[[DY:[0-9]+]] = expand %{{[0-9]+}} shape=[1,3,3,3] : f32[1,3,3,3]
# CHECK-NEXT: %[[SPLIT:[0-9]+]] = reshape %[[DY]] shape=[1,3,3,1,3,1] : f32[1,3,3,1,3,1]
# CHECK-NEXT: %[[ZEROS:[0-9]+]] = pad %[[SPLIT]] pads=[0,0,0,0,0,0,0,1,0,0,0,1] : f32[1,3,3,2,3,2]
# CHECK-NEXT: %[[JOIN:[0-9]+]] = reshape %[[ZEROS]] shape=[1,3,6,6] : f32[1,3,6,6]
# CHECK-NEXT: %[[DIL:[0-9]+]] = slice %[[JOIN]] start=[0,0,0,0] end=[1,3,5,5] : f32[1,3,5,5]
# CHECK:      concat %{{[0-9]+}}, %{{[0-9]+}} dim=3 : f32[3,2,3,2]
# CHECK:      %[[FLIP:[0-9]+]] = concat %{{[0-9]+}}, %{{[0-9]+}}, %{{[0-9]+}} dim=2 : f32[3,2,3,2]
# CHECK-NEXT: %[[WT:[0-9]+]] = permute %[[FLIP]] perm=[1,0,2,3] : f32[2,3,3,2]
# CHECK-NEXT: %[[PAD:[0-9]+]] = pad %[[DIL]] pads=[0,0,0,0,1,1,0,1] : f32[1,3,7,6]
# CHECK-NEXT: %grad.x = conv2d %[[PAD]], %[[WT]] stride=[1,1] padding=[0,0] : f32[1,2,5,5]
# CHECK:      %[[XT:[0-9]+]] = permute %x perm=[1,0,2,3] : f32[2,1,5,5]
# CHECK-NEXT: %[[DT:[0-9]+]] = permute %{{[0-9]+}} perm=[1,0,2,3] : f32[3,1,5,5]
# CHECK-NEXT: %[[DW:[0-9]+]] = conv2d %[[XT]], %[[DT]] stride=[1,1] padding=[1,1] : f32[2,3,3,3]
# CHECK-NEXT: %[[CROP:[0-9]+]] = slice %[[DW]] start=[0,0,0,0] end=[2,3,3,2] : f32[2,3,3,2]
# CHECK-NEXT: %grad.w = permute %[[CROP]] perm=[1,0,2,3] : f32[3,2,3,2]
# CHECK-NEXT: output %s, %grad.x, %grad.w
# The gradient graph is plain MTIR: differentiating it again keeps its outputs and appends
# the new gradient under a fresh name.
# AGAIN: output %s, %grad.x, %grad.w, %grad2.w
