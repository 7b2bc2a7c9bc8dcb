#!/usr/bin/env bash
# bench/aot.sh - compiled models (`mtc compile`) against PyTorch eager, in one run.
#
#   bench/aot.sh [MTC]     MTC defaults to build/mtc; needs cc, /usr/bin/python3 with numpy
#                          and torch (Debian's python3-torch) for the reference rows
#
# Rows: batch-1 latency of an MLP 784-256-128-10 through the .so called from C (bench/aot/
# call.c) against PyTorch eager (1 thread, no_grad); batch-64 LeNet (forward and loss)
# through the .so against PyTorch eager, both on 1 thread and on every core; `mtc compile`
# time for LeNet and for its Adam step graph. docs/aot.md records a run. No thresholds: the
# numbers depend on the machine.
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
ms() { # the wall time of a command in ms
    local a b
    a=$(date +%s%N)
    "$@" >/dev/null
    b=$(date +%s%N)
    echo $(((b - a) / 1000000))
}
us() { awk '$1 == "us_per_call" {print $2}'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.2f", a / b}'; }

cc -O2 -o call "$root/bench/aot/call.c" -ldl
weights "$root/bench/aot/mlp.mt" mlp.safetensors
weights "$root/bench/aot/lenet.mt" lenet.safetensors
"$mtc" compile "$root/bench/aot/mlp.mt" -o libmlp.so --weights mlp.safetensors
t_lenet=$(ms "$mtc" compile "$root/bench/aot/lenet.mt" -o liblenet.so --weights lenet.safetensors)
"$mtc" step "$root/bench/aot/lenet.mt" --optimizer adam -o lenet_step.mt
t_step=$(ms "$mtc" compile lenet_step.mt -o liblenet_step.so --weights lenet.safetensors)

mlp=$(MTC_NUM_THREADS=1 ./call ./libmlp.so mlp | us)
lenet1=$(MTC_NUM_THREADS=1 ./call ./liblenet.so lenet | us)
lenetn=$(./call ./liblenet.so lenet | us)
if "$py" -c 'import torch' 2>/dev/null; then
    t_mlp=$("$py" "$root/bench/aot/torch_ref.py" mlp 1 | us)
    t_lenet1=$("$py" "$root/bench/aot/torch_ref.py" lenet 1 | us)
    t_lenetn=$("$py" "$root/bench/aot/torch_ref.py" lenet "$cores" | us)
else
    t_mlp=nan t_lenet1=nan t_lenetn=nan
fi
echo "mtc compile vs PyTorch eager, $(nproc) cores, $(date -u '+%Y-%m-%d %H:%M UTC'), load $(cut -d' ' -f1 /proc/loadavg)"
echo
printf '| %-40s | %12s | %14s | %-22s |\n' "measurement" ".so" "PyTorch eager" "ratio (PyTorch / .so)"
printf '|%s|%s|%s|%s|\n' "------------------------------------------" "--------------" "----------------" "------------------------"
printf '| %-40s | %12s | %14s | %-22s |\n' "MLP 784-256-128-10, batch 1, 1 thread (us)" "$mlp" "$t_mlp" "$(ratio "$t_mlp" "$mlp")"
printf '| %-40s | %12s | %14s | %-22s |\n' "LeNet, batch 64, 1 thread (us)" "$lenet1" "$t_lenet1" "$(ratio "$t_lenet1" "$lenet1")"
printf '| %-40s | %12s | %14s | %-22s |\n' "LeNet, batch 64, $cores threads (us)" "$lenetn" "$t_lenetn" "$(ratio "$t_lenetn" "$lenetn")"
printf '| %-40s | %12s | %14s | %-22s |\n' "LeNet images/s, $cores threads" "$(awk -v t="$lenetn" 'BEGIN {printf "%.0f", 64e6 / t}')" "$(awk -v t="$t_lenetn" 'BEGIN {printf "%.0f", 64e6 / t}')" ""
printf '| %-40s | %12s | %14s | %-22s |\n' "mtc compile LeNet (ms)" "$t_lenet" "" ""
printf '| %-40s | %12s | %14s | %-22s |\n' "mtc compile LeNet Adam step (ms)" "$t_step" "" ""
