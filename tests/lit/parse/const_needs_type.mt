# RUN: exits 1 %mtc dump %s 2>&1 | FileCheck %s
# CHECK: {{.*}}const_needs_type.mt:5:3: const: the result type is required
mtir 1
graph g {
  %c = const value=1
  output %c
}
