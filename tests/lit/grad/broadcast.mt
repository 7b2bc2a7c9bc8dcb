# Broadcasting is undone in one place: sum over each stretched axis with `sum dim=k`, then
# `reshape` when the rank differs. maximum splits ties evenly (0.5 * eq); where routes the
# adjoint by its condition and gives none to the condition; a param the output does not depend
# on gets a zero gradient.
# RUN: %mtc grad %s | FileCheck %s
mtir 1
graph bcast {
  param %a : f64[3,1]
  param %b : f64[4]
  param %unused : f64[2]
  input %c : f64[3,4]
  %m = maximum %a, %b
  %w = where %c, %m, %b
  %s = sum %w
  output %s
}
# CHECK:      %[[DY:[0-9]+]] = expand %{{[0-9]+}} shape=[3,4] : f64[3,4]
# CHECK-NEXT: %[[Z1:[0-9]+]] = const value=0 : f64[]
# CHECK-NEXT: %[[DM:[0-9]+]] = where %c, %[[DY]], %[[Z1]] : f64[3,4]
# CHECK-NEXT: %[[Z2:[0-9]+]] = const value=0 : f64[]
# CHECK-NEXT: %[[DB1:[0-9]+]] = where %c, %[[Z2]], %[[DY]] : f64[3,4]
# CHECK-NEXT: %[[S1:[0-9]+]] = sum %[[DB1]] dim=0 : f64[1,4]
# CHECK-NEXT: %[[B1:[0-9]+]] = reshape %[[S1]] shape=[4] : f64[4]
# CHECK-NEXT: %[[WIN:[0-9]+]] = gt %a, %b : f64[3,4]
# CHECK-NEXT: %[[HALF:[0-9]+]] = const value=0.5 : f64[]
# CHECK-NEXT: %[[TIE:[0-9]+]] = eq %a, %b : f64[3,4]
# CHECK-NEXT: %[[SPLIT:[0-9]+]] = mul %[[TIE]], %[[HALF]] : f64[3,4]
# CHECK-NEXT: %[[SHARE:[0-9]+]] = add %[[WIN]], %[[SPLIT]] : f64[3,4]
# CHECK-NEXT: %[[DA:[0-9]+]] = mul %[[DM]], %[[SHARE]] : f64[3,4]
# CHECK-NEXT: %grad.a = sum %[[DA]] dim=1 : f64[3,1]
# CHECK:      %[[DB2:[0-9]+]] = mul %[[DM]], %{{[0-9]+}} : f64[3,4]
# CHECK-NEXT: %[[S2:[0-9]+]] = sum %[[DB2]] dim=0 : f64[1,4]
# CHECK-NEXT: %[[B2:[0-9]+]] = reshape %[[S2]] shape=[4] : f64[4]
# CHECK-NEXT: %grad.b = add %[[B1]], %[[B2]] : f64[4]
# CHECK-NEXT: %grad.unused = const value=0 : f64[2]
# CHECK-NEXT: output %s, %grad.a, %grad.b, %grad.unused
