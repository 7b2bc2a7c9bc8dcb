# dim= is an axis. The graph's internal "every axis" marker (INT64_MIN, what an absent dim
# means) written out is out of range like any other axis, not a full reduction.
# RUN: exits 1 %mtc dump %s 2>&1 | FileCheck %s
# CHECK: {{.*}}dim_all_marker.mt:8:3: sum: dim -9223372036854775808 is out of range for f32[4,3]
mtir 1
graph g {
  input %x : f32[4,3]
  %s = sum %x dim=-9223372036854775808
  output %s
}
