# mtc bisect: every pass keeps the numbers at the default tolerance; at tolerance 0 it names
# fold, whose value*count for a sum of consts differs from the interpreter's running sum in
# the last bits, and the node where the numbers first differ.
# RUN: %mtc bisect %s | FileCheck %s --check-prefix=OK
# RUN: exits 1 %mtc bisect %s --tol 0 | FileCheck %s --check-prefix=BAD
# RUN: exits 2 %mtc bisect %s --tol nope
# RUN: exits 1 %mtc bisect %S/no_such_file.mt
mtir 1
graph sums {
  input %x : f64[4]
  %c = const value=0.1 : f64[1000]
  %s = sum %c
  %one = const value=1 : f64[]
  %x1 = mul %x, %one
  %y = add %x1, %s
  output %y
}
# OK:      fold       nodes    5 -> 5    ok      max abs err {{[0-9.e+-]+}}, max rel err {{[0-9.e+-]+}}
# OK-NEXT: algebraic  nodes    5 -> 4    ok      max abs err 0, max rel err 0
# OK-NEXT: cse        nodes    4 -> 4    ok      max abs err 0, max rel err 0
# OK-NEXT: dce        nodes    4 -> 2    ok      max abs err 0, max rel err 0
# OK-NEXT: bisect: all 4 passes keep the numbers (seed 1, tol 1e-05)
# BAD:      fold       nodes    5 -> 5    CHANGED max abs err {{[0-9.e+-]+}}, max rel err {{[0-9.e+-]+}}
# BAD-NEXT:   first differing output: %y
# BAD-NEXT:   first differing node: %s = const (max abs err {{[0-9.e+-]+}}, max rel err {{[0-9.e+-]+}})
# BAD-NEXT: bisect: pass 'fold' changes the numbers of {{.*}}bisect.mt beyond tol 0
# BAD-NOT: algebraic
