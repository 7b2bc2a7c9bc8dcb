# A data file for the `mtc train` tests, made by `mtc run` (it has no inputs: any --in will do):
# 40 training and 15 test points uniform in [0,1)^2, labelled 1 where x1 < 0.5 (MiniTorch's
# simple set). 15 test points in batches of 10 leave a partial last test batch.
mtir 1
graph data {
  %x = rand seed=7 : f32[40,2]
  %x_test = rand seed=8 : f32[15,2]
  %half = const value=0.5 : f32[]
  %x1 = slice %x start=[0,0] end=[40,1]
  %y = lt %x1, %half
  %x1_test = slice %x_test start=[0,0] end=[15,1]
  %y_test = lt %x1_test, %half
  output %x, %y, %x_test, %y_test
}
