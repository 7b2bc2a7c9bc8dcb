# relu(x @ permute(w) + b) on a batch of two 8x16 inputs: a matmul that reads w transposed in
# place, with the bias and relu fused as its epilogue (docs/cpu-backend.md).
mtir 1
graph dense {
  input %x : f32[2,8,16]
  param %w : f32[4,16]
  param %b : f32[4]
  %wt = permute %w perm=[1,0]
  %h = matmul %x, %wt
  %a = add %h, %b
  %y = relu %a
  output %y
}
