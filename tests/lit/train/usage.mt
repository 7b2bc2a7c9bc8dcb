# `mtc train` usage errors: exit 2, a message naming the flag, and a pointer to --help.
# RUN: %mtc train --help | FileCheck %s --check-prefix=HELP
# RUN: exits 2 %mtc train --data xor 2>&1 | FileCheck %s --check-prefix=NOMODEL
# RUN: exits 2 %mtc train --model minitorch 2>&1 | FileCheck %s --check-prefix=NODATA
# RUN: exits 2 %mtc train --model minitorch --data xor --bogus 2>&1 | FileCheck %s --check-prefix=FLAG
# RUN: exits 2 %mtc train --model minitorch --data 2>&1 | FileCheck %s --check-prefix=NOVALUE
# RUN: exits 2 %mtc train --model minitorch --data xor extra 2>&1 | FileCheck %s --check-prefix=EXTRA
# RUN: exits 2 %mtc train --model minitorch --data xor --epochs 0 2>&1 | FileCheck %s --check-prefix=EPOCHS
# RUN: exits 2 %mtc train --model minitorch --data xor --epochs 2.5 2>&1 | FileCheck %s --check-prefix=EPOCHS2
# RUN: exits 2 %mtc train --model minitorch --data xor --batch -3 2>&1 | FileCheck %s --check-prefix=BATCH
# RUN: exits 2 %mtc train --model minitorch --data xor --hidden 0 2>&1 | FileCheck %s --check-prefix=HIDDEN
# RUN: exits 2 %mtc train --model minitorch --data xor --points x 2>&1 | FileCheck %s --check-prefix=POINTS
# RUN: exits 2 %mtc train --model minitorch --data xor --seed -1 2>&1 | FileCheck %s --check-prefix=SEED
# RUN: exits 2 %mtc train --model minitorch --data xor --lr fast 2>&1 | FileCheck %s --check-prefix=LR
# RUN: exits 2 %mtc train --model minitorch --data xor --optimizer rmsprop 2>&1 | FileCheck %s --check-prefix=OPT
# RUN: exits 2 %mtc train --model minitorch --data xor --optimizer adam --momentum 0.9 2>&1 | FileCheck %s --check-prefix=MOM
# RUN: exits 2 %mtc train --model minitorch --data xor --weight-decay w 2>&1 | FileCheck %s --check-prefix=WD
# RUN: exits 2 %mtc train --model minitorch --data xor --backend tpu 2>&1 | FileCheck %s --check-prefix=BACKEND
# (Every .mt file of the repository is a graph: this one is not used.)
mtir 1
graph unused {
  input %x : f32[2]
  output %x
}
# HELP: usage: mtc train --model NAME|FILE.mt --data NAME|PATH [--epochs N] [--batch B]
# HELP: epoch E/N loss L train_acc A test_acc T samples/s S
# NOMODEL: mtc train: --model is required (minitorch, mlp, lenet or FILE.mt)
# NOMODEL-NEXT: (see 'mtc train --help')
# NODATA: mtc train: --data is required
# FLAG: mtc train: unknown flag '--bogus'
# NOVALUE: mtc train: --data needs a value
# EXTRA: mtc train: unexpected argument 'extra' (the model is --model)
# EPOCHS: mtc train: --epochs: 0 is out of range (1 to 1000000000)
# EPOCHS2: mtc train: --epochs: '2.5' is not a whole number
# BATCH: mtc train: --batch: '-3' is not a whole number
# HIDDEN: mtc train: --hidden: 0 is out of range
# POINTS: mtc train: --points: 'x' is not a whole number
# SEED: mtc train: --seed: '-1' is not a whole number from 0 to 2^64-1
# LR: mtc train: --lr: 'fast' is not a number
# OPT: mtc train: --optimizer: unknown optimizer 'rmsprop' (sgd or adam)
# MOM: mtc train: --momentum does not apply to --optimizer adam
# WD: mtc train: --weight-decay: 'w' is not a number
# BACKEND: mtc train: unknown backend 'tpu' (interp, cpu, cuda or opencl)
