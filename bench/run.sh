#!/usr/bin/env bash
# bench/run.sh - builds every benchmark in bench/ (Release) and prints one table of results.
#
#   bench/run.sh            build into build-bench/ and run everything (about 1-2 minutes)
#   BUILD=dir bench/run.sh  another build directory
#   MT_BENCH_TRAIN=0        without the training benchmark (bench/train.sh: mtc against PyTorch
#                           and JAX, a few minutes, its own table after this one)
#
# Each benchmark's own output is kept in BUILD/bench-logs/NAME.txt. The table has one row per
# measurement: mtc's result, what it is compared with, and their ratio. For throughput the
# ratio is mtc / reference (higher is better); for compile latency it is time / budget (the
# issue's target; below 1 means within it). Benchmarks whose target was not built (the GEMM
# ones need OpenBLAS) are listed as skipped. docs/benchmarks.md records a run.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${BUILD:-$root/build-bench}
logs=$build/bench-logs
jobs=${JOBS:-2}

cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=Release >/dev/null
targets=$(cmake --build "$build" --target help | grep -oE '\<bench_[a-z_0-9]+\>' | sort -u)
cmake --build "$build" -j"$jobs" --target mtc $targets >/dev/null # mtc: bench/aot.sh compiles with it
mkdir -p "$logs"
load=$(cut -d' ' -f1 /proc/loadavg) # other work on the machine skews every number

rows=()
row() { rows+=("$(printf '| %-28s | %14s | %-24s | %6s | %-8s |' "$@")"); }
have() { [ -x "$build/bench/$1" ]; }
failed=0
run() { # NAME ARGS...: runs one benchmark into its log; 1 when it failed
    local name=$1
    shift
    echo "running $name $*" >&2
    if ! "$build/bench/$name" "$@" >"$logs/$name.txt" 2>&1; then
        echo "$name failed; its output:" >&2
        cat "$logs/$name.txt" >&2
        failed=1
        return 1
    fi
}
value() { awk -v k="$2" '$2 == k {print $3}' "$logs/$1.txt"; } # LOG KEY: a row's number
ratio() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.2f", a / b}'; }

# --- fused elementwise chain vs memcpy -------------------------------------------------------
if have bench_elementwise && run bench_elementwise 10; then
    l=$logs/bench_elementwise.txt
    mtc=$(awk '$2 == "mtc" {print $5}' "$l")
    m1=$(awk '$2 == "memcpy_1_thread" {print $5}' "$l")
    mn=$(awk '$2 ~ /^memcpy_[0-9]+_threads$/ {print $5}' "$l")
    nt=$(awk '$2 ~ /^memcpy_[0-9]+_threads$/ {sub(/memcpy_/, "", $2); sub(/_threads/, "", $2); print $2}' "$l")
    best=$(awk -v a="$m1" -v b="$mn" 'BEGIN {print (a > b ? a : b)}')
    row "elementwise 64 MB (GB/s)" "$mtc" "memcpy best $best" "$(ratio "$mtc" "$best")" ">= 0.8"
    row "  memcpy 1 thread" "$m1" "" "" ""
    row "  memcpy $nt threads" "$mn" "" "" ""
fi

# --- JIT latency of an MLP training step ------------------------------------------------------
if have bench_jit_latency && run bench_jit_latency 7; then
    cold=$(value bench_jit_latency cold)
    miss=$(value bench_jit_latency miss)
    cached=$(value bench_jit_latency cached)
    row "jit cold, MTC_CACHE=0 (ms)" "$cold" "budget 100 ms" "$(ratio "$cold" 100)" "< 1"
    row "jit cold, empty cache (ms)" "$miss" "budget 100 ms" "$(ratio "$miss" 100)" "< 1"
    row "jit from the cache (ms)" "$cached" "budget 10 ms" "$(ratio "$cached" 10)" "< 1"
    if MTC_NUM_THREADS=1 "$build/bench/bench_jit_latency" 5 >"$logs/bench_jit_latency_1.txt" 2>&1; then
        cold1=$(value bench_jit_latency_1 cold)
        cached1=$(value bench_jit_latency_1 cached)
        row "  cold on 1 thread (ms)" "$cold1" "budget 100 ms" "$(ratio "$cold1" 100)" "< 1"
        row "  cache on 1 thread (ms)" "$cached1" "budget 10 ms" "$(ratio "$cached1" 10)" "< 1"
    fi
fi

# --- GEMM (the GEMM benchmarks print markdown tables with a ratio column) ----------------------
if have bench_sgemm; then
    if run bench_sgemm 64 128 256 512 1024 2048; then
        while IFS='|' read -r _ n t mtc _ blas r _; do
            target="-"; [ "$(echo $n)" -ge 256 ] && target=">= 0.9"
            row "sgemm n=$(echo $n) (GFLOP/s)" "$(echo $mtc)" "OpenBLAS $(echo $blas)" "$(echo $r)" "$target"
        done < <(grep -E '^\| +[0-9]+ +\|' "$logs/bench_sgemm.txt")
    fi
else
    row "sgemm" "skipped" "no OpenBLAS" "" ""
fi
if have bench_matmul_graph; then
    if run bench_matmul_graph; then
        while IFS='|' read -r _ graph n t mtc blas r _; do
            row "graph $(echo $graph) n=$(echo $n)" "$(echo $mtc)" "OpenBLAS $(echo $blas)" "$(echo $r)" "-"
        done < <(grep -E '^\| +[a-z+^T]+ +\| +[0-9]+' "$logs/bench_matmul_graph.txt")
    fi
fi

# --- conv2d forward: the GEMM over patches, the direct loops, PyTorch eager -------------------
# PyTorch is Debian's (/usr/bin/python3, torch 1.13) with as many threads as mtc; its row is
# skipped when it is missing.
if have bench_conv && run bench_conv; then
    torch_log=$logs/conv_torch.txt
    threads=${MT_BENCH_THREADS:-2}
    if ! /usr/bin/python3 "$root/bench/conv_torch.py" "$threads" >"$torch_log" 2>&1; then
        : >"$torch_log"
    fi
    while IFS='|' read -r _ name _ _ gemm direct _; do
        name=$(echo $name)
        torch=$(awk -v k="$name" '$1 == "torch" && $2 == k {print $3}' "$torch_log")
        row "conv2d $name (samples/s)" "$(echo $gemm)" "direct loops $(echo $direct)" "$(ratio "$gemm" "$direct")" "-"
        if [ -n "$torch" ]; then
            row "  against PyTorch eager" "$(echo $gemm)" "torch 1.13 $torch" "$(ratio "$gemm" "$torch")" "-"
        fi
    done < <(grep -E '^\| [a-z0-9]+ +\| \[' "$logs/bench_conv.txt")
fi

# --- compiled models (mtc compile): bench/aot.sh, against PyTorch eager and ONNX Runtime ------
# ONNX Runtime's rows need MTC_BENCH_VENV (a venv with onnxruntime); times are fastest batches.
echo "running bench/aot.sh" >&2
if bash "$root/bench/aot.sh" "$build/mtc" >"$logs/aot.txt" 2>&1; then
    av() { awk -v k="$1" '$1 == "value" && $2 == k {print $3}' "$logs/aot.txt"; }
    refs() { # LABEL SO TORCH ORT: a row against PyTorch, and one against ONNX Runtime if run
        row "$1" "$2" "torch eager $3" "$(ratio "$3" "$2")" "$5"
        if [ "$4" != nan ]; then row "  against ONNX Runtime" "$2" "onnxruntime $4" "$(ratio "$4" "$2")" "$6"; fi
    }
    refs ".so MLP batch 1 (us)" "$(av mlp)" "$(av torch_mlp)" "$(av ort_mlp)" ">= 8" ">= 2.5"
    refs ".so LeNet b64 1 thread (us)" "$(av lenet1)" "$(av torch_lenet1)" "$(av ort_lenet1)" ">= 1.5" ">= 1.5"
    refs ".so LeNet b64 $(av cores) thr (us)" "$(av lenetn)" "$(av torch_lenetn)" "$(av ort_lenetn)" ">= 1.5" ">= 1.5"
    row "mtc compile LeNet (ms)" "$(av compile_lenet)" "budget 1000 ms" "$(ratio "$(av compile_lenet)" 1000)" "< 1"
    row "mtc compile LeNet step (ms)" "$(av compile_step)" "budget 1000 ms" "$(ratio "$(av compile_step)" 1000)" "< 1"
else
    echo "bench/aot.sh failed; its output:" >&2
    cat "$logs/aot.txt" >&2
    failed=1
fi

# --- training steps against PyTorch and JAX (bench/train.sh prints its own table) ------------
train_table=
if [ "${MT_BENCH_TRAIN:-1}" != 0 ]; then
    echo "running bench/train.sh" >&2
    if ! train_table=$(BUILD=$build "$root/bench/train.sh"); then
        echo "bench/train.sh failed" >&2
        failed=1
    fi
fi

echo
echo "mtc benchmarks, $(nproc) cores, $(date -u '+%Y-%m-%d %H:%M UTC'), commit $(cd "$root" && git rev-parse --short HEAD 2>/dev/null || echo '?'), load average at start $load"
echo
printf '| %-28s | %14s | %-24s | %6s | %-8s |\n' "benchmark" "mtc" "reference" "ratio" "target"
printf '|%s|%s|%s|%s|%s|\n' "------------------------------" "----------------" "--------------------------" "--------" "----------"
for r in "${rows[@]}"; do
    echo "$r"
done
if [ -n "$train_table" ]; then
    echo "$train_table"
fi
exit $failed
