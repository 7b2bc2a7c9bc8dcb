# RUN: exits 1 %mtc dump %S/does_not_exist.mt 2>&1 | FileCheck %s
# RUN: exits 2 %mtc dump 2>&1 | FileCheck %s --check-prefix=USAGE
# RUN: exits 2 %mtc dump %s --stage nope 2>&1 | FileCheck %s --check-prefix=STAGE
# RUN: %mtc dump --help | FileCheck %s --check-prefix=HELP
# CHECK: {{.*}}does_not_exist.mt: cannot open: No such file or directory
# USAGE: mtc dump: no graph file given
# STAGE: mtc dump: unknown stage 'nope'
# HELP: usage: mtc dump FILE.mt
