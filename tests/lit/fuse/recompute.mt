# RUN: %mtc dump %s --stage fused --why | FileCheck %s
# A broadcast reads each element of its operand several times. A cheap elementwise operand
# (sigmoid of the bias) is recomputed in the reader, which costs less than storing it; an
# expensive one (eight ops of tanh, exp and sigmoid per element) read four times is stored
# once and loaded, like the sum of shifted taps that a conv's dx feeds to max-pooling's
# backward rule.
mtir 1
graph broadcast {
  input %x : f32[64,32]
  input %b : f32[32]
  %t1 = tanh %x
  %t2 = exp %t1
  %t3 = sigmoid %t2
  %t4 = neg %t3
  %t5 = exp %t4
  %t6 = tanh %t5
  %t7 = exp %t6
  %t8 = sigmoid %t7
  %w = reshape %t8 shape=[64,1,32]
  %big = expand %w shape=[64,4,32]
  %c = sigmoid %b
  %y = mul %big, %c
  output %y
}
# CHECK:      # fused graph broadcast: 2 kernels
# CHECK-NEXT: kernel k0 elementwise {
# CHECK-NEXT:   %t1 = tanh %x : f32[64,32]
# CHECK:        %t8 = sigmoid %t7 : f32[64,32]  # stored: k1 broadcasts it: its 8 or more ops would be computed for each read
# CHECK-NEXT: }
# CHECK-NEXT: kernel k1 elementwise {
# CHECK-NEXT:   %w = reshape %t8 : f32[64,1,32]  # inline
# CHECK-NEXT:   %big = expand %w : f32[64,4,32]  # inline
# CHECK-NEXT:   %c = sigmoid %b : f32[32]
# CHECK-NEXT:   %y = mul %big, %c : f32[64,4,32]  # stored: graph output
# CHECK-NEXT: }
