#!/usr/bin/env bash
# bench/aot.sh - compiled models (`mtc compile`) against PyTorch eager, in one run.
#
#   bench/aot.sh [MTC]     MTC defaults to build/mtc; needs cc, /usr/bin/python3 with numpy
#                          and torch (Debian's python3-torch) for the PyTorch column
#   MTC_BENCH_VENV=DIR     a venv whose python has onnxruntime and numpy: the ONNX Runtime
#                          column (bench/aot/onnx_ref.py), else it says "-"
#
# Rows: batch-1 latency of an MLP 784-256-128-10 through the .so called from C (bench/aot/
# call.c) against PyTorch eager (1 thread, no_grad) and ONNX Runtime (1 intra-op thread);
# batch-64 LeNet (forward and loss) through the .so against both, on 1 thread and on every
# core; `mtc compile` time for LeNet and for its Adam step graph. bench/run.sh runs this too;
# docs/aot.md records a run. No thresholds: the numbers depend on the machine.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
mtc=$(realpath "${1:-$root/build/mtc}")
py=/usr/bin/python3
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cd "$tmp"
cores=$(nproc)

# Random weights for every param of a graph, by name (numpy; the values do not matter).
weights() {
    "$py" - "$1" "$2" <<'PY'
import json, re, struct, sys
import numpy as np
rng = np.random.default_rng(0)
header, blobs, off = {}, [], 0
for m in re.finditer(r"param %(\S+) : f32\[([0-9,]*)\]", open(sys.argv[1]).read()):
    shape = [int(d) for d in m.group(2).split(",")] if m.group(2) else []
    b = (rng.random(shape, dtype=np.float32) * 0.1).tobytes()
    header[m.group(1)] = {"dtype": "F32", "shape": shape, "data_offsets": [off, off + len(b)]}
    blobs.append(b)
    off += len(b)
t = json.dumps(header).encode()
t += b" " * (-len(t) % 8)
open(sys.argv[2], "wb").write(struct.pack("<Q", len(t)) + t + b"".join(blobs))
PY
}
cc -O2 -o call "$root/bench/aot/call.c" -ldl
weights "$root/bench/aot/mlp.mt" mlp.safetensors
weights "$root/bench/aot/lenet.mt" lenet.safetensors
"$mtc" compile "$root/bench/aot/mlp.mt" -o libmlp.so --weights mlp.safetensors
"$mtc" step "$root/bench/aot/lenet.mt" --optimizer adam -o lenet_step.mt
# Compile times: the best of three runs (wall), and the CPU time of the last (user + sys,
# the linker included), which the machine's load moves less.
best_ms() {
    local best=999999 a b t
    for _ in 1 2 3; do
        a=$(date +%s%N)
        "$@" >/dev/null
        b=$(date +%s%N)
        t=$(((b - a) / 1000000))
        [ "$t" -lt "$best" ] && best=$t
    done
    echo "$best"
}
cpu_ms() { /usr/bin/time -f '%U %S' "$@" 2>&1 >/dev/null | awk 'END {printf "%d", ($1 + $2) * 1000}'; }
t_lenet=$(best_ms "$mtc" compile "$root/bench/aot/lenet.mt" -o liblenet.so --weights lenet.safetensors)
c_lenet=$(cpu_ms "$mtc" compile "$root/bench/aot/lenet.mt" -o liblenet.so --weights lenet.safetensors)
t_step=$(best_ms "$mtc" compile lenet_step.mt -o liblenet_step.so --weights lenet.safetensors)
c_step=$(cpu_ms "$mtc" compile lenet_step.mt -o liblenet_step.so --weights lenet.safetensors)

# Every system is timed the same way: batches of about 10 ms of calls for about 2 s; the
# fastest batch is reported (on a shared machine the median moves with other work; both are
# in the logs: bench/aot/*.{py,c} print us_per_call (median) and us_per_call_min).
fast() { awk '$1 == "us_per_call_min" {print $2}'; }
mlp=$(MTC_NUM_THREADS=1 ./call ./libmlp.so mlp | fast)
lenet1=$(MTC_NUM_THREADS=1 ./call ./liblenet.so lenet | fast)
lenetn=$(./call ./liblenet.so lenet | fast)
t_mlp=nan t_lenet1=nan t_lenetn=nan torch_v=absent
if "$py" -c 'import torch' 2>/dev/null; then
    torch_v="torch $("$py" -c 'import torch; print(torch.__version__)')"
    t_mlp=$("$py" "$root/bench/aot/torch_ref.py" mlp 1 | fast)
    t_lenet1=$("$py" "$root/bench/aot/torch_ref.py" lenet 1 | fast)
    t_lenetn=$("$py" "$root/bench/aot/torch_ref.py" lenet "$cores" | fast)
fi
# ONNX Runtime from a venv that has it (MTC_BENCH_VENV=/path/to/venv), else absent.
o_mlp=nan o_lenet1=nan o_lenetn=nan ort_v=absent
vpy=${MTC_BENCH_VENV:+$MTC_BENCH_VENV/bin/python}
if [ -n "$vpy" ] && [ -x "$vpy" ] && "$vpy" -c 'import onnxruntime, numpy' 2>/dev/null; then
    ort_v="onnxruntime $("$vpy" -c 'import onnxruntime; print(onnxruntime.__version__)')"
    o_mlp=$("$vpy" "$root/bench/aot/onnx_ref.py" mlp 1 | fast)
    o_lenet1=$("$vpy" "$root/bench/aot/onnx_ref.py" lenet 1 | fast)
    o_lenetn=$("$vpy" "$root/bench/aot/onnx_ref.py" lenet "$cores" | fast)
fi
# How many times faster the .so is than each reference ("-" when it is absent).
x() { awk -v r="$1" -v s="$2" 'BEGIN {if (r == "nan" || r == "") print "-"; else printf "%.2f", r / s}'; }
echo "mtc compile vs PyTorch eager ($torch_v) and ONNX Runtime ($ort_v), $cores cores, $(date -u '+%Y-%m-%d %H:%M UTC'), load $(cut -d' ' -f1 /proc/loadavg)"
echo
fmt='| %-40s | %10s | %10s | %10s | %8s | %8s |\n'
printf "$fmt" "measurement (fastest batch)" ".so" "PyTorch" "ONNX RT" "PT/.so" "ORT/.so"
printf '|%s|%s|%s|%s|%s|%s|\n' "------------------------------------------" "------------" "------------" "------------" "----------" "----------"
printf "$fmt" "MLP 784-256-128-10, batch 1 (us)" "$mlp" "$t_mlp" "$o_mlp" "$(x "$t_mlp" "$mlp")" "$(x "$o_mlp" "$mlp")"
printf "$fmt" "LeNet batch 64, 1 thread (us)" "$lenet1" "$t_lenet1" "$o_lenet1" "$(x "$t_lenet1" "$lenet1")" "$(x "$o_lenet1" "$lenet1")"
printf "$fmt" "LeNet batch 64, $cores threads (us)" "$lenetn" "$t_lenetn" "$o_lenetn" "$(x "$t_lenetn" "$lenetn")" "$(x "$o_lenetn" "$lenetn")"
printf "$fmt" "mtc compile LeNet, ms (CPU ms)" "$t_lenet ($c_lenet)" "" "" "" ""
printf "$fmt" "mtc compile LeNet Adam step, ms (CPU ms)" "$t_step ($c_step)" "" "" "" ""
echo
# For bench/run.sh: one `value NAME NUMBER` line per measurement.
for kv in "mlp $mlp" "lenet1 $lenet1" "lenetn $lenetn" "torch_mlp $t_mlp" "torch_lenet1 $t_lenet1" \
    "torch_lenetn $t_lenetn" "ort_mlp $o_mlp" "ort_lenet1 $o_lenet1" "ort_lenetn $o_lenetn" \
    "compile_lenet $t_lenet" "compile_step $t_step" "cpu_lenet $c_lenet" "cpu_step $c_step" "cores $cores"; do
    echo "value $kv"
done
