# RUN: %mtc dump %s --stage kernels | FileCheck %s
# RUN: %mtc dump %s --stage fused --why | FileCheck %s --check-prefix=FUSED
# A matmul kernel is one parallel loop over the rows of its result (batch-major): a GEMM
# statement computes the row, then the epilogue runs over it. The transposed weight is read in
# place (^T); a sliced batch is not a buffer the GEMM reads, so it is copied first.
mtir 1
graph layer {
  input %x : f32[3,8,16]
  param %w : f32[4,16]
  param %b : f32[4]
  %xs = slice %x start=[1,0,0] end=[3,8,16]
  %wt = permute %w perm=[1,0]
  %h = matmul %xs, %wt
  %a = add %h, %b
  %y = relu %a
  output %y
}

# CHECK: kernel k0(b0 r noalias, b3 w noalias) {  # %xs: slice
# CHECK: kernel k1(b1 r noalias, b2 r noalias, b3 r noalias, b4 rw noalias) {  # %y: matmul add relu
# CHECK-NEXT:   for i0 in 0..16 parallel {
# CHECK-NEXT:     gemm b4 row i0 = b3 @ b1^T : f32[2,8,16] @ f32[16,4]
# CHECK-NEXT:     for i1 in 0..4 parallel {
# CHECK-NEXT:       f32 s0 = b4[i0 * 4 + i1] + b2[i1]
# CHECK-NEXT:       f32 s1 = select(s0 <= 0.0f, 0.0f, s0)
# CHECK-NEXT:       b4[i0 * 4 + i1] = s1
# CHECK-NEXT:     }
# CHECK-NEXT:   }
# CHECK-NEXT: }

# FUSED: kernel k0 copy {
# FUSED-NEXT:   %xs = slice %x : f32[2,8,16]  # stored: operand of %h in k1, which reads each element many times
# FUSED-NEXT: }
# FUSED-NEXT: kernel k1 matmul {
# FUSED-NEXT:   %wt = permute %w : f32[16,4]  # inline
