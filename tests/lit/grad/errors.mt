# User errors exit 1 with a message naming the file and the value at fault; usage errors exit 2.
# RUN: exits 1 %mtc grad %s --wrt h 2>&1 | FileCheck %s --check-prefix=NOTLEAF
# RUN: exits 1 %mtc grad %s --wrt w,nope 2>&1 | FileCheck %s --check-prefix=UNKNOWN
# RUN: exits 1 %mtc grad %s --wrt w,w 2>&1 | FileCheck %s --check-prefix=TWICE
# RUN: exits 2 %mtc grad %s --wrt 2>&1 | FileCheck %s --check-prefix=USAGE
# RUN: exits 2 %mtc grad %s --frobnicate 2>&1 | FileCheck %s --check-prefix=FLAG
# RUN: exits 2 %mtc grad 2>&1 | FileCheck %s --check-prefix=NOFILE
# RUN: exits 1 %mtc grad %S/does_not_exist.mt 2>&1 | FileCheck %s --check-prefix=MISSING
# RUN: %mtc grad --help | FileCheck %s --check-prefix=HELP
mtir 1
graph errors {
  param %w : f32[2,3]
  %h = exp %w
  %s = sum %h
  output %s
}
# NOTLEAF: errors.mt:13:3: grad: %h is not an input, param or state
# UNKNOWN: errors.mt: --wrt: no value '%nope' in graph 'errors'
# TWICE: errors.mt: grad: %w is listed twice
# USAGE: mtc grad: --wrt needs a value
# FLAG: mtc grad: unknown flag '--frobnicate'
# NOFILE: mtc grad: no graph file given
# MISSING: does_not_exist.mt
# HELP: usage: mtc grad FILE.mt [--wrt a,b,...] [-o OUT.mt]
