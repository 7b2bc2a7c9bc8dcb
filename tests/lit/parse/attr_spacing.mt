# Attributes are separated by whitespace: `start=[0,1]end=[2,3]` or `dim=1dim=1` is an error,
# not two attributes; a tab separates as well as a space.
# RUN: exits 1 %mtc dump %s 2>&1 | FileCheck %s
# RUN: sed 's/dim=1$/dim=1dim=1/' %s > %t && exits 1 %mtc dump %t 2>&1 | FileCheck %s --check-prefix=NUM
# RUN: sed 's/\]end=\[2,3\]/]	end=[2,3]/' %s > %t && %mtc dump %t | FileCheck %s --check-prefix=TAB
# CHECK: {{.*}}attr_spacing.mt:13:28: slice: expected whitespace before attribute 'end'
# NUM: :12:20: sum: expected whitespace before attribute 'dim'
# TAB: %y = slice %x start=[0,1] end=[2,3] : f32[2,2]
mtir 1
graph g {
  input %x : f32[4,3]
  %s = sum %x dim=1
  %y = slice %x start=[0,1]end=[2,3]
  output %y, %s
}
