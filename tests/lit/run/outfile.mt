# `mtc run --out` writes by what the path is (runtime/outfile.c): a regular file or a new path
# atomically (keeping a replaced file's mode), through a symlink to the file it names (the link
# stays), through to a FIFO, a character device or /dev/stdout; a directory is refused.
# RUN: rm -rf %t.d && mkdir %t.d
# A dangling symlink: the file it names is created, the link stays a link.
# RUN: ln -s real.safetensors %t.d/link && %mtc run %s --in %S/affine.in.safetensors --out %t.d/link --backend interp
# RUN: test -L %t.d/link && test -f %t.d/real.safetensors && %mtc show %t.d/real.safetensors | FileCheck %s
# A symlink to an existing file: replaced through the link, its mode kept, the link kept.
# RUN: chmod 604 %t.d/real.safetensors && : > %t.d/real.safetensors && %mtc run %s --in %S/affine.in.safetensors --out %t.d/link --backend interp
# RUN: test -L %t.d/link && stat -c %a %t.d/real.safetensors | FileCheck %s --check-prefix=MODE && %mtc show %t.d/link | FileCheck %s
# A new file gets 0666 & ~umask.
# RUN: umask 027 && %mtc run %s --in %S/affine.in.safetensors --out %t.d/new --backend interp && stat -c %a %t.d/new | FileCheck %s --check-prefix=UMASK
# A FIFO is written through to its reader and stays a FIFO.
# RUN: mkfifo %t.d/fifo && { timeout 20 cat %t.d/fifo > %t.d/from_fifo & } && %mtc run %s --in %S/affine.in.safetensors --out %t.d/fifo --backend interp && wait && test -p %t.d/fifo && %mtc show %t.d/from_fifo | FileCheck %s
# A character device stays one (a node like /dev/null: mknod needs root, so others skip this).
# RUN: if [ "$(id -u)" = 0 ]; then mknod %t.d/null c 1 3 && %mtc run %s --in %S/affine.in.safetensors --out %t.d/null --backend interp && test -c %t.d/null && test -c /dev/null; fi
# /dev/stdout is the descriptor the shell gave, a pipe here.
# RUN: %mtc run %s --in %S/affine.in.safetensors --out /dev/stdout --backend interp | cat > %t.d/from_stdout && %mtc show %t.d/from_stdout | FileCheck %s
# A directory is refused, and nothing is left beside it.
# RUN: mkdir %t.d/dir && exits 1 %mtc run %s --in %S/affine.in.safetensors --out %t.d/dir --backend interp 2>&1 | FileCheck %s --check-prefix=DIR
# RUN: ls %t.d | FileCheck %s --check-prefix=LS
# CHECK: y : f32[2,2]
# CHECK-NEXT: -4.75 2.375
# MODE: 604
# UMASK: 640
# DIR: {{.*}}/dir: cannot write: Is a directory
# LS-NOT: tmp
mtir 1
graph affine {
  input %x : f32[2,3]
  param %w : f32[3,2]
  %y = matmul %x, %w
  %r = relu %y
  %s = sum %r
  output %y, %r, %s
}
