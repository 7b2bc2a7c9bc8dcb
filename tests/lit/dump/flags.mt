# dump's flags are checked whether or not the stage uses them: --wrt names values of the graph
# even for the parsed stage, and --format dot is for the graph stages only (a usage error on
# fused, kernels, llvm, --all and --stats instead of text printed anyway).
# RUN: exits 1 %mtc dump %s --wrt nope 2>&1 | FileCheck %s --check-prefix=WRT
# RUN: exits 1 %mtc dump %s --wrt "" 2>&1 | FileCheck %s --check-prefix=EMPTY
# RUN: %mtc dump %s --wrt w | FileCheck %s --check-prefix=PARSED
# RUN: exits 2 %mtc dump %s --stage fused --format dot 2>&1 | FileCheck %s --check-prefix=DOT
# RUN: exits 2 %mtc dump %s --stage kernels --format dot 2>&1 | FileCheck %s --check-prefix=DOT
# RUN: exits 2 %mtc dump %s --all --format dot 2>&1 | FileCheck %s --check-prefix=DOTALL
# RUN: exits 2 %mtc dump %s --stats --format dot 2>&1 | FileCheck %s --check-prefix=DOTSTATS
# RUN: %mtc dump %s --stage optimized --format dot | FileCheck %s --check-prefix=GRAPH
# RUN: %mtc --version | FileCheck %s --check-prefix=VERSION
# WRT: {{.*}}flags.mt: --wrt: no value '%nope' in graph 'g'
# EMPTY: {{.*}}flags.mt: --wrt: no values given
# PARSED: graph g {
# DOT: mtc dump: --format dot applies to the graph stages (parsed, grad, optimized), not {{fused|kernels}}
# DOTALL: mtc dump: --format dot applies to the graph stages (parsed, grad, optimized), not --all
# DOTSTATS: mtc dump: --format dot applies to the graph stages (parsed, grad, optimized), not --stats
# GRAPH: digraph
# VERSION: {{^}}mtc {{[0-9]+\.[0-9]+\.[0-9]+}}
mtir 1
graph g {
  input %x : f32[2,3]
  param %w : f32[3,2]
  %y = matmul %x, %w
  %l = sum %y
  output %l, %y
}
