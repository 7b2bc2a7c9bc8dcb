# NUL and high bytes are reported with their position, never crash.
# RUN: printf 'mtir 1\ngraph g {\n  input %%x : f32[4]\n  \000\377\n' > %t; exits 1 %mtc dump %t 2>&1 | FileCheck %s
# RUN: head -c 4096 /dev/urandom > %t.r; exits 1 %mtc dump %t.r 2>&1 | FileCheck %s --check-prefix=RANDOM
# CHECK: {{.*}}:4:3: unexpected byte 0x00, expected 'input', 'param', 'state', '%v = op ...', 'update', 'output' or '}'
# RANDOM: {{.*}}:{{[0-9]+}}:{{[0-9]+}}: {{.*}}
