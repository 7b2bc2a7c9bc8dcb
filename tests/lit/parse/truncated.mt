# A file cut off in the middle of a line, and one cut off before its closing brace.
# RUN: printf 'mtir 1\ngraph g {\n  input %%x : f32[4' > %t.a
# RUN: exits 1 %mtc dump %t.a 2>&1 | FileCheck %s --check-prefix=MID
# RUN: printf 'mtir 1\ngraph g {\n  input %%x : f32[4]\n  output %%x\n' > %t.b; exits 1 %mtc dump %t.b 2>&1 | FileCheck %s --check-prefix=END
# MID: {{.*}}.a:3:19: expected ',' or ']', got end of file
# END: {{.*}}.b:5:1: expected '}' after the output line, got end of file
