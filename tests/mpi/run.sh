#!/usr/bin/env bash
# run.sh DP_STEP - data-parallel training across real processes: `mpirun -np 2` and `-np 3` of
# tests/mpi/dp_step.c (each must give every rank the params of one process at the combined
# batch), and a run whose last rank dies must end every rank, within a bounded time.
# Skips (exit 77) where Open MPI's mpirun is absent.
set -u
bin=$1
command -v mpirun >/dev/null || { echo "mpi: mpirun not found, skipped"; exit 77; }
# Open MPI keeps its own allocations until exit: LeakSanitizer would blame them on every rank
# (mtc's own code is leak-checked by every other test).
export ASAN_OPTIONS="${ASAN_OPTIONS:-}:detect_leaks=0"
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_btl=self,vader
mpi() { timeout 120 mpirun --oversubscribe -np "$@"; }
fail=0 pass=0
for r in 2 3; do
    if mpi "$r" "$bin"; then pass=$((pass + 1)); else echo "FAIL: mpirun -np $r"; fail=$((fail + 1)); fi
done
start=$(date +%s)
mpi 2 "$bin" die >/dev/null 2>&1
rc=$? took=$(($(date +%s) - start))
if [ "$rc" -ne 0 ] && [ "$rc" -ne 124 ] && [ "$took" -lt 60 ]; then
    pass=$((pass + 1))
else
    echo "FAIL: a dead rank gave exit $rc after ${took}s (want non-zero, well before the timeout)"
    fail=$((fail + 1))
fi
echo "mpi: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
