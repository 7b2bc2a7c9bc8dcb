# RUN: %mtc dump %s --format dot | FileCheck %s
mtir 1
graph tiny {
  input %x : f64[3]
  %y = exp %x
  output %y
}
# CHECK: digraph "tiny" {
# CHECK: n0 [label="%x\ninput\nf64[3]"
# CHECK: n1 [label="%y\nexp\nf64[3]"];
# CHECK: n0 -> n1;
# CHECK: n1 -> out0;
