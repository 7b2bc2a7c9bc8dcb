# `mtc train` user errors: exit 1 and one line naming the model, data set, file, flag or tensor
# at fault. This file is itself a FILE.mt model with batch 10.
# RUN: exits 1 %mtc train --model resnet --data xor 2>&1 | FileCheck %s --check-prefix=MODEL
# RUN: exits 1 %mtc train --model %t.missing.mt --data xor 2>&1 | FileCheck %s --check-prefix=MISSING
# RUN: exits 1 %mtc train --model %S --data xor 2>&1 | FileCheck %s --check-prefix=DIR
# RUN: exits 1 %mtc train --model minitorch --data mnist-ish 2>&1 | FileCheck %s --check-prefix=DATA
# RUN: exits 1 %mtc train --model %s --data xor --batch 32 2>&1 | FileCheck %s --check-prefix=BATCH
# RUN: exits 1 %mtc train --model %s --data fashion-mnist-missing 2>&1 | FileCheck %s --check-prefix=DATA2
# RUN: exits 1 %mtc train --model minitorch --data xor --batch 64 2>&1 | FileCheck %s --check-prefix=SMALL
# RUN: exits 1 %mtc train --model mlp --data xor 2>&1 | FileCheck %s --check-prefix=LABELS
# RUN: exits 1 %mtc train --model %S/inputs/two_inputs.mt --data xor 2>&1 | FileCheck %s --check-prefix=INPUTS
# RUN: exits 1 %mtc train --model %S/inputs/wide.mt --data xor 2>&1 | FileCheck %s --check-prefix=WIDTH
# RUN: exits 1 %mtc train --model %s --data xor --lr -1 2>&1 | FileCheck %s --check-prefix=NEGLR
# RUN: exits 1 %mtc train --model minitorch --data xor --epochs 1 --load %t.missing.safetensors 2>&1 | FileCheck %s --check-prefix=NOLOAD
# A checkpoint of another width is refused, naming the tensor and both types.
# RUN: %mtc train --model minitorch --data xor --hidden 5 --epochs 1 --quiet --save %t.h5.safetensors
# RUN: exits 1 %mtc train --model minitorch --data xor --hidden 10 --epochs 1 --load %t.h5.safetensors 2>&1 | FileCheck %s --check-prefix=SHAPE
# A failed --save leaves no file and is exit 1.
# RUN: exits 1 %mtc train --model minitorch --data xor --epochs 1 --quiet --save %S 2>&1 | FileCheck %s --check-prefix=SAVE
mtir 1
graph tiny {
  input %x : f32[10,2]
  input %y : f32[10,1]
  param %w : f32[2,1]
  %z = matmul %x, %w
  %d = sub %z, %y
  %sq = mul %d, %d
  %loss = mean %sq
  output %loss
}
# MODEL: --model: unknown model 'resnet' (built-in: minitorch, mlp, lenet; or a FILE.mt loss graph)
# MISSING: errors.mt.missing.mt: cannot read the model: No such file or directory
# DIR: train: is a directory, not a model (a built-in name or a FILE.mt)
# DATA: unknown data set 'mnist-ish'
# BATCH: errors.mt:22:9: the model's batch is 10 (%x : f32[10,2]), not --batch 32
# DATA2: unknown data set 'fashion-mnist-missing'
# SMALL: data 'xor' has 50 samples, fewer than one batch of 64
# LABELS: mlp: needs one-hot labels of at least 2 classes, got 1
# INPUTS: two_inputs.mt:6:9: input %mask: a model for mtc train has exactly two inputs, %x (a batch of samples) and %y (their labels)
# WIDTH: wide.mt:4:9: data 'x' has 2 values per sample (f32[50,2]) but %x : f32[10,3] takes 3
# NEGLR: errors.mt: step: invalid learning rate -1 (must be >= 0)
# NOLOAD: errors.mt.missing.safetensors: {{.*}}No such file or directory
# SHAPE: errors.mt.h5.safetensors: tensor 'layer1.weight' is f32[2,5] but the model's param %layer1.weight is f32[2,10]
# SAVE: train: {{.*}}directory
