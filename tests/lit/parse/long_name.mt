# (A template, not a graph: %%W becomes a long name in each RUN line, so it lives with the
# malformed files.)
# Every name a graph holds prints and parses back: value names are at most 255 characters,
# everywhere. The gradient of a param named with 250 characters is %grad.NAME (255) and reads
# back; with 251 characters %grad.NAME would not fit, and `mtc grad` says so instead of writing
# MTIR that does not parse. The parser reads a 255-character name and refuses a 256-character
# one with the graph's message.
# RUN: n=$(printf 'w%.0s' $(seq 250)) && sed "s/%%W/%$n/g" %s > %t.250.mt && %mtc grad %t.250.mt -o %t.grad.mt && %mtc grad %t.grad.mt --wrt x | FileCheck %s
# RUN: n=$(printf 'w%.0s' $(seq 251)) && sed "s/%%W/%$n/g" %s > %t.251.mt && exits 1 %mtc grad %t.251.mt 2>&1 | FileCheck %s --check-prefix=LONG
# RUN: n=$(printf 'v%.0s' $(seq 255)) && sed "s/%%W/%$n/g" %s > %t.255.mt && %mtc dump %t.255.mt | FileCheck %s --check-prefix=FITS
# RUN: n=$(printf 'v%.0s' $(seq 256)) && sed "s/%%W/%$n/g" %s > %t.256.mt && exits 1 %mtc dump %t.256.mt 2>&1 | FileCheck %s --check-prefix=PARSE
# CHECK: output %l, %grad.wwwwwwwwww{{w+}}, %grad.x
# LONG: {{.*}}.251.mt: value name '%grad.wwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwww...' is longer than 255 characters
# FITS: param %vvvvvvvvvv{{v+}} : f32[3]
# PARSE: {{.*}}.256.mt:[[# @LINE + 4]]:9: value name '%vvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvv...' is longer than 255 characters
mtir 1
graph g {
  input %x : f32[3]
  param %%W : f32[3]
  %y = mul %x, %%W
  %l = sum %y
  output %l
}
