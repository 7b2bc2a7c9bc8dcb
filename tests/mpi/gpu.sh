#!/usr/bin/env bash
# gpu.sh TARGET DP_STEP MTC SOURCE - data-parallel training on a GPU target (opencl or cuda)
# under `mpirun -np 2`: tests/mpi/dp_step.c on TARGET must give both ranks the same params, those
# of one process at the combined batch, and `mpirun -np 2 mtc train --backend TARGET` must save
# the checkpoint of one process trained with batch 2*B on TARGET (SGD with momentum and Adam).
# opencl reduces through the host and MPI; cuda through NCCL where the node has a GPU per rank,
# else (MTC_NCCL=0) through the host like opencl.
# Skips (exit 77) where mpirun is absent or TARGET has no device; for cuda, only after checking
# that a data-parallel run without a device ends every rank with an error that says why.
set -u
target=$1 bin=$2 mtc=$3 src=$4
command -v mpirun >/dev/null || { echo "mpi $target: mpirun not found, skipped"; exit 77; }
export ASAN_OPTIONS="${ASAN_OPTIONS:-}:detect_leaks=0"
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_btl=self,vader
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
data=$src/tests/mpi/data.safetensors
mpi() { timeout 300 mpirun --oversubscribe -np 2 "$@"; }
if ! "$mtc" run "$src/examples/xor.mt" --in "$src/examples/xor.in.safetensors" \
    --out "$tmp/probe.st" --backend "$target" >"$tmp/probe.log" 2>&1; then
    if [ "$target" = cuda ]; then
        start=$(date +%s)
        mpi "$mtc" train --model "$src/tests/torch/optim/mlp.mt" --data "$data" --epochs 1 \
            --optimizer sgd --lr 0.1 --backend cuda >"$tmp/nodev.log" 2>&1
        rc=$? took=$(($(date +%s) - start))
        if [ "$rc" -eq 0 ] || [ "$rc" -eq 124 ] || [ "$took" -ge 60 ] ||
            ! grep -Eq 'rank [01] of 2: cuda: (libcuda.so.1 was not found|no CUDA device|cuInit)' \
                "$tmp/nodev.log"; then
            echo "FAIL: without a CUDA device, mpirun -np 2 mtc train --backend cuda gave exit" \
                "$rc after ${took}s and:"
            cat "$tmp/nodev.log"
            exit 1
        fi
        echo "mpi cuda: without a device every rank stops with: $(grep -m1 'cuda:' "$tmp/nodev.log")"
        # The NCCL communicator as far as it goes without a device: rank 0's id reaches every
        # rank (MPI_Bcast) and ncclCommInitRank fails on each with NCCL's reason.
        mpi "$bin" nccl >"$tmp/nccl.log" 2>&1
        rc=$?
        n=$(grep -Ec '^dp_step: rank [01]: nccl: (ncclCommInitRank failed|libnccl.so.2 was not found)' \
            "$tmp/nccl.log")
        if [ "$rc" -ne 0 ] || [ "$n" -ne 2 ]; then
            echo "FAIL: mpirun -np 2 dp_step nccl gave exit $rc and:"
            cat "$tmp/nccl.log"
            exit 1
        fi
        echo "mpi cuda: $(grep -m1 '^dp_step: rank 0' "$tmp/nccl.log")"
    fi
    echo "mpi $target: no $target device ($(head -1 "$tmp/probe.log")), skipped"
    exit 77
fi
if [ "$target" = cuda ]; then
    gpus=$(nvidia-smi -L 2>/dev/null | grep -c '^GPU')
    if [ "$gpus" -lt 2 ]; then
        echo "mpi cuda: $gpus GPU(s), so NCCL (one GPU per rank) is not tested; MTC_NCCL=0"
        export MTC_NCCL=0
    fi
fi
fail=0 pass=0
if mpi -x MTC_NCCL "$bin" "$target"; then pass=$((pass + 1)); else
    echo "FAIL: mpirun -np 2 dp_step $target"
    fail=$((fail + 1))
fi
if /usr/bin/python3 -c "import numpy" 2>/dev/null; then
    sed "s/f32\[8,/f32[16,/g" "$src/tests/torch/optim/mlp.mt" >"$tmp/whole.mt"
    for opt in "sgd --momentum 0.9 --lr 0.05" "adam --lr 0.01"; do
        # shellcheck disable=SC2086
        mpi -x MTC_NCCL "$mtc" train --model "$src/tests/torch/optim/mlp.mt" --data "$data" \
            --epochs 2 --no-shuffle --backend "$target" --optimizer $opt \
            --save "$tmp/ranks.st" >"$tmp/ranks.log" 2>&1
        # shellcheck disable=SC2086
        "$mtc" train --model "$tmp/whole.mt" --data "$data" --epochs 2 --no-shuffle \
            --backend "$target" --optimizer $opt --save "$tmp/one.st" >"$tmp/one.log" 2>&1
        if /usr/bin/python3 "$src/tests/mpi/st_compare.py" "$tmp/ranks.st" "$tmp/one.st" 1e-5 &&
            [ "$(grep -c '^epoch' "$tmp/ranks.log")" -eq 2 ]; then
            pass=$((pass + 1))
        else
            echo "FAIL: mpirun -np 2 mtc train --backend $target --optimizer $opt"
            cat "$tmp/ranks.log" "$tmp/one.log"
            fail=$((fail + 1))
        fi
    done
fi
echo "mpi $target: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
