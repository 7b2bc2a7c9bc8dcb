# --save writes every param and state by name; --load starts from them. Training --load A
# --save B for 2 epochs and then --load B for 3 more gives the same checkpoint, bit for bit,
# as 5 epochs from A (in order, one thread). Adam's moments and step count travel with it.
# RUN: export MTC_NUM_THREADS=1 && %mtc train --model minitorch --data xor --batch 10 --epochs 1 --optimizer adam --lr 0.05 --quiet --save %t.A
# RUN: %mtc show %t.A | FileCheck %s --check-prefix=NAMES
# RUN: export MTC_NUM_THREADS=1 && %mtc train --model minitorch --data xor --batch 10 --epochs 2 --optimizer adam --lr 0.05 --no-shuffle --load %t.A --save %t.B > %t.two
# RUN: export MTC_NUM_THREADS=1 && %mtc train --model minitorch --data xor --batch 10 --epochs 3 --optimizer adam --lr 0.05 --no-shuffle --load %t.B --save %t.C > %t.three
# RUN: export MTC_NUM_THREADS=1 && %mtc train --model minitorch --data xor --batch 10 --epochs 5 --optimizer adam --lr 0.05 --no-shuffle --load %t.A --save %t.D > %t.five
# RUN: cmp %t.C %t.D
# The printed losses and accuracies agree too (fields 3-6: loss L train_acc A).
# RUN: cat %t.two %t.three | cut -d' ' -f3-6 > %t.parts && cut -d' ' -f3-6 %t.five | diff - %t.parts
# The same for a FILE.mt model with SGD momentum, on the interpreter.
# RUN: %mtc train --model %s --data xor --epochs 2 --momentum 0.9 --no-shuffle --backend interp --save %t.E --quiet
# RUN: %mtc train --model %s --data xor --epochs 3 --momentum 0.9 --no-shuffle --backend interp --load %t.E --save %t.F --quiet
# RUN: %mtc train --model %s --data xor --epochs 5 --momentum 0.9 --no-shuffle --backend interp --save %t.G --quiet
# RUN: cmp %t.F %t.G && %mtc show %t.G | FileCheck %s --check-prefix=MOM
mtir 1
graph linear {
  input %x : f32[10,2]
  input %y : f32[10,1]
  param %w : f32[2,1]
  param %b : f32[1]
  %z = matmul %x, %w
  %logits = add %z, %b
  %d = sub %logits, %y
  %sq = mul %d, %d
  %loss = mean %sq
  output %loss, %logits
}
# NAMES: layer1.weight : f32[2,10]
# NAMES: layer1.bias : f32[10]
# NAMES: layer3.bias : f32[1]
# NAMES: adam.t : f32[]
# NAMES-NEXT: 5
# NAMES: adam.m.layer1.weight : f32[2,10]
# NAMES: adam.v.layer3.bias : f32[1]
# MOM: sgd.mom.w : f32[2,1]
# MOM: sgd.mom.b : f32[1]
