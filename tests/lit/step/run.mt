# mtc run on a step graph: OUT holds the outputs, the new params and state under their own
# names, and the inputs, so it can be the next run's IN; interp and cpu agree, and --stats
# shows which updates the fused program stores in place.
# RUN: %mtc step %S/../../../examples/xor.mt --optimizer adam --lr 0.01 -o %t.mt
# RUN: %mtc run %t.mt --in %S/../../../examples/xor.in.safetensors --out %t.1 --backend interp
# RUN: %mtc run %t.mt --in %t.1 --out %t.2 --backend interp
# RUN: %mtc run %t.mt --in %S/../../../examples/xor.in.safetensors --out %t.c1 --backend cpu
# RUN: %mtc run %t.mt --in %t.c1 --out %t.c2 --backend cpu
# RUN: %mtc show %t.2 | FileCheck %s
# RUN: %mtc show %t.c2 | FileCheck %s
# RUN: %mtc dump %t.mt --stats | FileCheck %s --check-prefix=STATS
# RUN: %mtc dump %t.mt --stage kernels | FileCheck %s --check-prefix=KERNELS
# CHECK:      loss : f32[]
# CHECK-NEXT:   0.690
# CHECK:      adam.t : f32[]
# CHECK-NEXT:   2
# CHECK:      x : f32[16,2]
# STATS: updates: 19, {{[0-9]+}} in place
# KERNELS: state
# KERNELS: update b{{[0-9]+}} in place
# (The graph under test is examples/xor.mt; every .mt file in the repository parses.)
mtir 1
graph unused {
  input %x : f32[1]
  output %x
}
