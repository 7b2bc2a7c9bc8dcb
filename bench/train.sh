#!/usr/bin/env bash
# bench/train.sh - one training step of the same model, batch and optimiser in mtc and in the
# strongest references on this machine, side by side in one run; prints the table that
# docs/benchmarks.md records.
#
#   bench/train.sh [SECONDS]      seconds of timing per workload and system (default 1)
#
# Systems: mtc (bench/train.c, through the program API), PyTorch 1.13 from Debian
# (/usr/bin/python3; skipped when it has no torch), and where the venv of bench/venv.sh exists
# ($VENV, default /work/venv): the newest PyTorch eager, torch.compile in each of $MODES (the
# best is reported; default "default max-autotune-no-cudagraphs"), and JAX (jax.jit of the whole
# step). The workloads and how each is timed: bench/train.c and bench/train/*.py. Every system
# runs on the same thread count ($MT_BENCH_THREADS, default every core; JAX chooses its own).
# torch.compile's cold compiles take tens of seconds each; the whole run a few minutes.
# Logs: BUILD/bench-logs/train/SYSTEM.txt (BUILD as for bench/run.sh, default build-bench).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${BUILD:-$root/build-bench}
venv=${VENV:-/work/venv}
secs=${1:-1}
threads=${MT_BENCH_THREADS:-$(nproc)}
modes=${MODES:-default max-autotune-no-cudagraphs}
logs=$build/bench-logs/train
mkdir -p "$logs"
# Every library's threads to the same count: PyTorch's OpenMP pool, the OpenBLAS that
# Debian's PyTorch calls for matmuls (it starts one thread per core otherwise), MKL; XLA's
# thread pool is its own, and only a count of 1 can be asked of it.
export OMP_NUM_THREADS=$threads OPENBLAS_NUM_THREADS=$threads MKL_NUM_THREADS=$threads
if [ "$threads" = 1 ]; then
    export XLA_FLAGS="--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1"
fi
rm -f "$logs"/*.txt

cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$build" -j"${JOBS:-2}" --target bench_train >/dev/null
load=$(cut -d' ' -f1 /proc/loadavg)

run() { # LOG CMD...: a failed system is reported and left out of the table
    local log=$1
    shift
    echo "running $(basename "$log" .txt)" >&2
    if ! "$@" >"$log" 2>"$log.err"; then
        echo "$(basename "$log" .txt) failed:" >&2
        tail -5 "$log.err" >&2
    fi
}

MTC_NUM_THREADS=$threads run "$logs/mtc.txt" "$build/bench/bench_train" "$secs"
sed -i 's/^train /mtc /' "$logs/mtc.txt"
cd "$root/bench/train"
if /usr/bin/python3 -c 'import torch' 2>/dev/null; then
    run "$logs/torch113.txt" /usr/bin/python3 torch_bench.py torch113 "$threads" "$secs"
fi
versions="PyTorch $(/usr/bin/python3 -c 'import torch; print(torch.__version__)' 2>/dev/null || echo none) (Debian)"
if [ -x "$venv/bin/python" ]; then
    run "$logs/torch2.txt" "$venv/bin/python" torch_bench.py torch2 "$threads" "$secs"
    for mode in $modes; do
        # A fresh Inductor cache: every compile is cold, and nothing is left in ~/.cache.
        cache=$(mktemp -d)
        TORCHINDUCTOR_CACHE_DIR=$cache run "$logs/torch2_compile_$mode.txt" \
            "$venv/bin/python" torch_bench.py "torch2_compile_$mode" "$threads" "$secs" "$mode"
        rm -rf "$cache"
    done
    run "$logs/jax.txt" "$venv/bin/python" jax_bench.py jax "$secs"
    versions="$versions, $("$venv/bin/python" -c 'import torch, jax; print("PyTorch", torch.__version__, "and JAX", jax.__version__)')"
fi

echo
echo "training benchmarks, $(getconf _NPROCESSORS_ONLN) cores, $threads threads, $(date -u '+%Y-%m-%d %H:%M UTC'), commit $(cd "$root" && git rev-parse --short HEAD 2>/dev/null || echo '?'), load average at start $load"
echo "$versions"
echo
/usr/bin/python3 "$root/bench/train/table.py" "$logs"/*.txt
