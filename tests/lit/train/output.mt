# What `mtc train` prints when stdout is not a terminal: exactly one line per epoch,
#   epoch E/N loss L train_acc A test_acc T samples/s S
# in plain decimals; the accuracies only where there are labels to compare. --log writes the
# same numbers as CSV, --plot an SVG chart, --quiet nothing at all.
# The data: 40 training and 15 test points (inputs/make_data.mt), a FILE.mt model with
# %logits, batches of 10 (the last test batch is partial).
# RUN: %mtc run %S/inputs/make_data.mt --in %S/../run/affine.in.safetensors --out %t.data --backend interp
# RUN: %mtc train --model %S/inputs/logistic.mt --data %t.data --epochs 3 --lr 0.5 --log %t.csv --plot %t.svg | FileCheck %s
# RUN: FileCheck %s --check-prefix=CSV < %t.csv
# RUN: FileCheck %s --check-prefix=SVG < %t.svg
# A built-in model on a generated set (no test split): no test_acc.
# RUN: %mtc train --model minitorch --data simple --epochs 2 | FileCheck %s --check-prefix=NOTEST
# A model whose %x does not fit the data is refused; one without %pred or %logits trains without accuracies.
# RUN: exits 1 %mtc train --model %S/inputs/wide.mt --data %t.data --epochs 1 2>&1 | FileCheck %s --check-prefix=WIDE
# RUN: %mtc train --model %s --data xor --epochs 2 | FileCheck %s --check-prefix=NOACC
# --quiet prints nothing; the files are still written.
# RUN: rm -f %t.q.csv && %mtc train --model minitorch --data xor --epochs 2 --quiet --log %t.q.csv > %t.out 2>&1 && test ! -s %t.out && test -s %t.q.csv
# The interpreter trains to the same numbers on one thread, give or take rounding.
# RUN: %mtc train --model %S/inputs/logistic.mt --data %t.data --epochs 1 --lr 0.5 --backend interp | FileCheck %s --check-prefix=INTERP
mtir 1
graph mse {
  input %x : f32[10,2]
  input %y : f32[10,1]
  param %w : f32[2,1]
  %z = matmul %x, %w
  %d = sub %z, %y
  %sq = mul %d, %d
  %loss = mean %sq
  output %loss, %z
}
# CHECK:      {{^}}epoch 1/3 loss {{[0-9]+\.[0-9]+}} train_acc {{(0|1)\.[0-9]+}} test_acc {{(0|1)\.[0-9]+}} samples/s {{[0-9]+\.[0-9]+$}}
# CHECK-NEXT: {{^}}epoch 2/3 loss {{[0-9]+\.[0-9]+}} train_acc {{(0|1)\.[0-9]+}} test_acc {{(0|1)\.[0-9]+}} samples/s {{[0-9]+\.[0-9]+$}}
# CHECK-NEXT: {{^}}epoch 3/3 loss {{[0-9]+\.[0-9]+}} train_acc {{(0|1)\.[0-9]+}} test_acc {{(0|1)\.[0-9]+}} samples/s {{[0-9]+\.[0-9]+$}}
# CHECK-NOT: {{.}}
# CSV:      {{^}}epoch,loss,train_acc,test_acc,samples_per_s{{$}}
# CSV-NEXT: {{^}}1,{{[0-9]+\.[0-9]+}},{{(0|1)\.[0-9]+}},{{(0|1)\.[0-9]+}},{{[0-9]+\.[0-9]+$}}
# CSV-NEXT: {{^}}2,
# CSV-NEXT: {{^}}3,
# SVG: <svg xmlns="http://www.w3.org/2000/svg"
# SVG: mtc train --model {{.*}}logistic.mt --data
# SVG: <polyline
# SVG: </svg>
# NOTEST:      {{^}}epoch 1/2 loss {{[0-9]+\.[0-9]+}} train_acc {{(0|1)\.[0-9]+}} samples/s {{[0-9]+\.[0-9]+$}}
# NOTEST-NEXT: {{^}}epoch 2/2 loss
# WIDE: wide.mt:4:9: data 'x' has 2 values per sample (f32[40,2]) but %x : f32[10,3] takes 3
# NOACC: {{^}}epoch 1/2 loss {{[0-9]+\.[0-9]+}} samples/s {{[0-9]+\.[0-9]+$}}
# INTERP: {{^}}epoch 1/1 loss 0.6557{{[0-9]+}} train_acc 0.6250 test_acc 0.6000 samples/s
