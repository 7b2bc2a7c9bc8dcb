# A loss that becomes infinite stops training with exit 1, naming the epoch, the batch and the
# first value of the loss graph that is not finite, located in this file. Least squares with a
# learning rate of 1000 diverges within the first epoch.
# RUN: exits 1 %mtc train --model %s --data xor --lr 1000 2>&1 | FileCheck %s
# RUN: exits 1 %mtc train --model %s --data xor --lr 1000 --backend interp 2>&1 | FileCheck %s
# A loss that is -inf at the first step: log of a value that is exactly 0 (relu of -|x|-1).
# RUN: exits 1 %mtc train --model %S/inputs/log0.mt --data xor 2>&1 | FileCheck %s --check-prefix=LOG0
# Epochs that completed are printed and logged before the error.
# RUN: exits 1 %mtc train --model %s --data xor --lr 50 --epochs 3 --log %t.csv 2>&1 | FileCheck %s --check-prefix=LATER
# RUN: FileCheck %s --check-prefix=CSV < %t.csv
mtir 1
graph mse {
  input %x : f32[5,2]
  input %y : f32[5,1]
  param %w : f32[2,1]
  %z = matmul %x, %w
  %d = sub %z, %y
  %sq = mul %d, %d
  %loss = mean %sq
  output %loss, %z
}
# CHECK: nan.mt:18:3: training stopped at epoch 1, batch 8 of 10: the loss is inf; the first value that is not finite is %sq (node 5, mul)
# LOG0: log0.mt:10:3: training stopped at epoch 1, batch 1 of 10: the loss is inf; the first value that is not finite is %l (node 6, log)
# LATER: epoch 1/3 loss {{[0-9]+\.[0-9]+}} samples/s
# LATER-NEXT: nan.mt:18:3: training stopped at epoch 2, batch 3 of 10: the loss is inf; the first value that is not finite is %sq (node 5, mul)
# CSV: epoch,loss,train_acc,test_acc,samples_per_s
# CSV-NEXT: 1,{{[0-9]+\.[0-9]+}},,,
# CSV-NOT: 2,
