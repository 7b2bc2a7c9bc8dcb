mtir 1
graph tour {
  input %x : f32[2,3]
  input %b : f32[3]
  %xb = add %x, %b                         # [2,3] + [3]: b stretches over the rows
  %rows = sum %x dim=1                     # keeps the axis: [2,1]
  %total = sum %x                          # no dim: everything, to rank 0
  %centered = sub %x, %rows                # [2,3] - [2,1]: the row sums stretch over columns
  %avg = mean %x                           # 3.5
  %big = gt %x, %avg                       # comparisons give 1 or 0 in f32
  %three = const value=3 : f32[]
  %pick = where %big, %x, %three           # x where x > 3.5, else 3
  %xt = permute %x perm=[1,0]              # [3,2]
  %tail = slice %x start=[0,1] end=[2,3]   # columns 1 and 2
  %padded = pad %tail pads=[0,0,1,0]       # one zero column before
  %both = concat %x, %padded dim=0         # [4,3]
  %prod = matmul %x, %xt                   # [2,3] @ [3,2]
  %noise = rand seed=0 : f32[2,3]          # uniform in [0,1), the same on every backend
  output %xb, %rows, %total, %centered, %big, %pick, %xt, %both, %prod, %noise
}
