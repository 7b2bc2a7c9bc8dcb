# Every command checks its writes: output that cannot be written (a full disk, here /dev/full)
# is exit 1 and a message naming the file, or <stdout>, and the reason.
# RUN: exits 1 %mtc dump %s > /dev/full 2> %t.err && FileCheck %s < %t.err
# RUN: exits 1 %mtc dump %s --stage fused > /dev/full 2> %t.err && FileCheck %s < %t.err
# RUN: exits 1 %mtc dump %s --stats > /dev/full 2> %t.err && FileCheck %s < %t.err
# RUN: exits 1 %mtc show %S/affine.in.safetensors > /dev/full 2> %t.err && FileCheck %s < %t.err
# RUN: exits 1 %mtc gradcheck %s --seed 1 > /dev/full 2> %t.err && FileCheck %s < %t.err
# RUN: exits 1 %mtc bisect %s > /dev/full 2> %t.err && FileCheck %s < %t.err
# RUN: exits 1 %mtc grad %s > /dev/full 2> %t.err && FileCheck %s < %t.err
# RUN: exits 1 %mtc step %s --optimizer sgd > /dev/full 2> %t.err && FileCheck %s < %t.err
# RUN: exits 1 %mtc run %s --in %S/affine.in.safetensors --out /dev/stdout --backend interp > /dev/full 2> %t.err && FileCheck %s --check-prefix=DEVSTDOUT < %t.err
# RUN: exits 1 %mtc --help > /dev/full 2> %t.err && FileCheck %s < %t.err
# RUN: exits 1 %mtc --version > /dev/full 2> %t.err && FileCheck %s < %t.err
# RUN: exits 1 %mtc dump --help > /dev/full 2> %t.err && FileCheck %s < %t.err
# A file that cannot be written names the file.
# RUN: exits 1 %mtc run %s --in %S/affine.in.safetensors --out /dev/full --backend interp 2>&1 | FileCheck %s --check-prefix=DEVFULL
# RUN: exits 1 %mtc grad %s -o /dev/full 2>&1 | FileCheck %s --check-prefix=DEVFULL
# A stdout the shell closed is an error for a command that writes to it, and none for one that
# does not.
# RUN: exits 1 %mtc dump %s 2> %t.err >&- && FileCheck %s --check-prefix=CLOSED < %t.err
# RUN: %mtc run %s --in %S/affine.in.safetensors --out %t.out --backend interp >&-
# A failing command keeps its own message and status.
# RUN: exits 1 %mtc show %S/nope.safetensors > /dev/full 2> %t.err && FileCheck %s --check-prefix=NOFILE < %t.err
# CHECK: <stdout>: write failed: No space left on device
# DEVSTDOUT: /dev/stdout: write failed: No space left on device
# DEVFULL: /dev/full: write failed: No space left on device
# CLOSED: <stdout>: write failed: Bad file descriptor
# NOFILE: nope.safetensors: cannot open
mtir 1
graph affine {
  input %x : f32[2,3]
  param %w : f32[3,2]
  %y = matmul %x, %w
  %r = relu %y
  %s = sum %r
  output %s, %y
}
