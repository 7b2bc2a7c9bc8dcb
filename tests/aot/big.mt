# tests/aot/tsan.sh's large model: products big enough for the .so's worker pool (2^20
# multiply-adds and more) and a temporary of 256 KiB, so its scratch is the per-thread block
# rather than the caller's stack. No params: only inputs.
mtir 1
graph big {
  input %a : f32[256,256]
  input %b : f32[256,256]
  %c = matmul %a, %b
  %t = tanh %c
  %d = matmul %t, %b
  %s = sum %d dim=1
  output %d, %s
}
