#!/usr/bin/env bash
# run.sh DP_STEP MTC SOURCE - data-parallel training across real processes: `mpirun -np 2` and
# `-np 3` of tests/mpi/dp_step.c (each must give every rank the params of one process at the
# combined batch), a run whose last rank dies must end every rank within a bounded time, and
# `mpirun -np R mtc train` of a FILE.mt model with --no-shuffle must save the checkpoint of one
# process trained with batch R*B (SGD with momentum and Adam).
# Skips (exit 77) where Open MPI's mpirun is absent.
set -u
bin=$1
mtc=${2:-}
src=${3:-}
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
# mtc train under mpirun against one process at the combined batch.
if [ -n "$mtc" ] && /usr/bin/python3 -c "import numpy" 2>/dev/null; then
    tmp=$(mktemp -d)
    trap 'rm -rf "$tmp"' EXIT
    data=$src/tests/mpi/data.safetensors
    for cfg in "2 sgd --momentum 0.9 --lr 0.05" "2 adam --lr 0.01" "3 sgd --lr 0.1"; do
        set -- $cfg
        r=$1
        shift
        sed "s/f32\[8,/f32[$((8 * r)),/g" "$src/tests/torch/optim/mlp.mt" >"$tmp/whole.mt"
        mpi "$r" "$mtc" train --model "$src/tests/torch/optim/mlp.mt" --data "$data" --epochs 2 \
            --no-shuffle --optimizer "$@" --save "$tmp/ranks.st" >"$tmp/ranks.log" 2>&1
        "$mtc" train --model "$tmp/whole.mt" --data "$data" --epochs 2 --no-shuffle \
            --optimizer "$@" --save "$tmp/one.st" >"$tmp/one.log" 2>&1
        if /usr/bin/python3 "$src/tests/mpi/st_compare.py" "$tmp/ranks.st" "$tmp/one.st" 1e-5 &&
            [ "$(grep -c '^epoch' "$tmp/ranks.log")" -eq 2 ]; then
            pass=$((pass + 1))
        else
            echo "FAIL: mpirun -np $r mtc train --optimizer $*"
            cat "$tmp/ranks.log"
            fail=$((fail + 1))
        fi
    done
fi
echo "mpi: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
