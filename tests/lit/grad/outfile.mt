# `mtc grad -o` writes like `mtc run --out` (runtime/outfile.c): through a symlink to the file
# it names, keeping the link and the file's mode; through to a FIFO; atomically over a file.
# RUN: rm -rf %t.d && mkdir %t.d && echo old > %t.d/real.mt && chmod 600 %t.d/real.mt && ln -s real.mt %t.d/link
# RUN: %mtc grad %s -o %t.d/link && test -L %t.d/link && stat -c %a %t.d/real.mt | FileCheck %s --check-prefix=MODE
# RUN: %mtc dump %t.d/real.mt | FileCheck %s
# RUN: mkfifo %t.d/fifo && { timeout 20 cat %t.d/fifo > %t.d/from_fifo & } && %mtc grad %s -o %t.d/fifo && wait && test -p %t.d/fifo && %mtc dump %t.d/from_fifo | FileCheck %s
# RUN: ls %t.d | FileCheck %s --check-prefix=LS
# MODE: 600
# CHECK: output %s, %grad.w
# LS-NOT: tmp
mtir 1
graph affine {
  input %x : f32[2,3]
  param %w : f32[3,2]
  %y = matmul %x, %w
  %s = sum %y
  output %s
}
