# conv2d with stride 2 and padding 1. dx (col2im): the weights as [C*KH*KW, O] times dy as
# [N, O, OH*OW] give each tap's share of every output position; per tap, that slice is dilated
# with zeros by the stride (reshape, pad, reshape, slice), shifted into x's frame (pad, slice),
# and the taps are summed in order. dw: x with batch and channels swapped, convolved with the
# dilated dy.
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
# CHECK-NEXT: %[[WM:[0-9]+]] = reshape %w shape=[3,12] : f32[3,12]
# CHECK-NEXT: %[[WT:[0-9]+]] = permute %[[WM]] perm=[1,0] : f32[12,3]
# CHECK-NEXT: %[[DYM:[0-9]+]] = reshape %[[DY]] shape=[1,3,9] : f32[1,3,9]
# CHECK-NEXT: %[[COLS:[0-9]+]] = matmul %[[WT]], %[[DYM]] : f32[1,12,9]
# CHECK-NEXT: %[[TAPS:[0-9]+]] = reshape %[[COLS]] shape=[1,2,3,2,3,3] : f32[1,2,3,2,3,3]
# The first tap (0,0): dilated to 5x5, then shifted up and left by the padding.
# CHECK-NEXT: %[[T0:[0-9]+]] = slice %[[TAPS]] start=[0,0,0,0,0,0] end=[1,2,1,1,3,3] : f32[1,2,1,1,3,3]
# CHECK-NEXT: %[[T0R:[0-9]+]] = reshape %[[T0]] shape=[1,2,3,3] : f32[1,2,3,3]
# CHECK-NEXT: %[[SPLIT:[0-9]+]] = reshape %[[T0R]] shape=[1,2,3,1,3,1] : f32[1,2,3,1,3,1]
# CHECK-NEXT: %[[ZEROS:[0-9]+]] = pad %[[SPLIT]] pads=[0,0,0,0,0,0,0,1,0,0,0,1] : f32[1,2,3,2,3,2]
# CHECK-NEXT: %[[JOIN:[0-9]+]] = reshape %[[ZEROS]] shape=[1,2,6,6] : f32[1,2,6,6]
# CHECK-NEXT: %[[DIL:[0-9]+]] = slice %[[JOIN]] start=[0,0,0,0] end=[1,2,5,5] : f32[1,2,5,5]
# CHECK-NEXT: %[[PAD:[0-9]+]] = pad %[[DIL]] pads=[0,0,0,0,0,1,0,1] : f32[1,2,6,6]
# CHECK-NEXT: %[[SHIFT:[0-9]+]] = slice %[[PAD]] start=[0,0,1,1] end=[1,2,6,6] : f32[1,2,5,5]
# The second tap (0,1) is added to it; the last of the six taps gives dx.
# CHECK:      %[[T1:[0-9]+]] = slice %[[TAPS]] start=[0,0,0,1,0,0] end=[1,2,1,2,3,3] : f32[1,2,1,1,3,3]
# CHECK:      add %[[SHIFT]], %{{[0-9]+}} : f32[1,2,5,5]
# CHECK:      slice %[[TAPS]] start=[0,0,2,1,0,0] end=[1,2,3,2,3,3] : f32[1,2,1,1,3,3]
# CHECK:      %grad.x = add %{{[0-9]+}}, %{{[0-9]+}} : f32[1,2,5,5]
# CHECK:      %[[XT:[0-9]+]] = permute %x perm=[1,0,2,3] : f32[2,1,5,5]
# CHECK-NEXT: %[[DT:[0-9]+]] = permute %{{[0-9]+}} perm=[1,0,2,3] : f32[3,1,5,5]
# CHECK-NEXT: %[[DW:[0-9]+]] = conv2d %[[XT]], %[[DT]] stride=[1,1] padding=[1,1] : f32[2,3,3,3]
# CHECK-NEXT: %[[CROP:[0-9]+]] = slice %[[DW]] start=[0,0,0,0] end=[2,3,3,2] : f32[2,3,3,2]
# CHECK-NEXT: %grad.w = permute %[[CROP]] perm=[1,0,2,3] : f32[3,2,3,2]
# CHECK-NEXT: output %s, %grad.x, %grad.w
# The gradient graph is plain MTIR: differentiating it again keeps its outputs and appends
# the new gradient under a fresh name.
# AGAIN: output %s, %grad.x, %grad.w, %grad2.w
