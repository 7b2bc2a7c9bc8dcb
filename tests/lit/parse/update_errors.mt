# Every malformed update line is reported at its line and column.
# RUN: sed -n '/^#BEGIN input/,/^#END/p' %s | sed '1d;$d' > %t.a; exits 1 %mtc dump %t.a 2>&1 | FileCheck %s --check-prefix=INPUT
# RUN: sed -n '/^#BEGIN type/,/^#END/p' %s | sed '1d;$d' > %t.b; exits 1 %mtc dump %t.b 2>&1 | FileCheck %s --check-prefix=TYPE
# RUN: sed -n '/^#BEGIN twice/,/^#END/p' %s | sed '1d;$d' > %t.c; exits 1 %mtc dump %t.c 2>&1 | FileCheck %s --check-prefix=TWICE
# RUN: sed -n '/^#BEGIN order/,/^#END/p' %s | sed '1d;$d' > %t.d; exits 1 %mtc dump %t.d 2>&1 | FileCheck %s --check-prefix=ORDER
# RUN: sed -n '/^#BEGIN output/,/^#END/p' %s | sed '1d;$d' > %t.e; exits 1 %mtc dump %t.e 2>&1 | FileCheck %s --check-prefix=OUTPUT
# RUN: sed -n '/^#BEGIN arrow/,/^#END/p' %s | sed '1d;$d' > %t.f; exits 1 %mtc dump %t.f 2>&1 | FileCheck %s --check-prefix=ARROW
# RUN: sed -n '/^#BEGIN counter/,/^#END/p' %s | sed '1d;$d' > %t.g; exits 1 %mtc dump %t.g 2>&1 | FileCheck %s --check-prefix=COUNTER
# INPUT: {{.*}}:4:10: update: %x is an input, not a param or state
# TYPE: {{.*}}:5:10: update: %w is f32[2] but %y is f32[]
# TWICE: {{.*}}:6:10: update: %w already has an update
# ORDER: {{.*}}:6:3: definitions must come before the 'update' lines
# OUTPUT: {{.*}}:6:14: %w has an update, so it cannot also be an output
# ARROW: {{.*}}:5:13: expected '<-', got '='
# COUNTER: {{.*}}:4:3: rand: the step counter must be f32[], got f32[2]
#BEGIN input
mtir 1
graph g {
  input %x : f32[2]
  update %x <- %x
  output %x
}
#END
#BEGIN type
mtir 1
graph g {
  param %w : f32[2]
  %y = sum %w
  update %w <- %y
  output %y
}
#END
#BEGIN twice
mtir 1
graph g {
  param %w : f32[2]
  %y = neg %w
  update %w <- %y
  update %w <- %y
  output %y
}
#END
#BEGIN order
mtir 1
graph g {
  param %w : f32[2]
  %y = neg %w
  update %w <- %y
  %z = neg %y
  output %z
}
#END
#BEGIN output
mtir 1
graph g {
  param %w : f32[2]
  %y = neg %w
  update %w <- %y
  output %y, %w
}
#END
#BEGIN arrow
mtir 1
graph g {
  param %w : f32[2]
  %y = neg %w
  update %w = %y
  output %y
}
#END
#BEGIN counter
mtir 1
graph g {
  param %w : f32[2]
  %r = rand %w seed=1 : f32[2]
  output %r
}
#END
