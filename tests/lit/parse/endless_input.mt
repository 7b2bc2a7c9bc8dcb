# An endless input given as a file is not read until memory runs out (issue 12, defect 5): MTIR
# stops at the first NUL byte, safetensors reads only the 8-byte length, a header of at most
# 100 MB and the data its offsets name. `timeout` makes a regression fail instead of hang.
# RUN: exits 1 timeout 20 %mtc dump /dev/zero 2>&1 | FileCheck %s --check-prefix=ZERO
# RUN: exits 1 timeout 20 %mtc dump /dev/urandom 2>&1 | FileCheck %s --check-prefix=RANDOM
# RUN: exits 1 timeout 20 %mtc show /dev/zero 2>&1 | FileCheck %s --check-prefix=STZERO
# RUN: exits 1 timeout 20 %mtc show /dev/urandom 2>&1 | FileCheck %s --check-prefix=STRANDOM
# RUN: printf '\066\000\000\000\000\000\000\000{"x":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}' > %t.h
# RUN: (cat %t.h /dev/zero 2>/dev/null || true) | timeout 20 %mtc show /dev/stdin | FileCheck %s --check-prefix=STREAM
# ZERO: /dev/zero:1:1: unexpected byte 0x00
# RANDOM: /dev/urandom:{{[0-9]+}}:{{[0-9]+}}: {{.*}}
# STZERO: /dev/zero: header is not valid JSON
# STRANDOM: /dev/urandom: header length {{[0-9]+}} is over the format's limit of 104857600 bytes
# STREAM: x : f32[2]
# STREAM-NEXT: 0 0
