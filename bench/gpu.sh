#!/usr/bin/env bash
# bench/gpu.sh - the GPU benchmarks of docs/gpu.md, in one run on a machine with an NVIDIA GPU,
# its driver and the CUDA toolkit (nvcc, cuBLAS). Builds what it needs from this repository
# (cmake Release + nvcc, a few minutes), then prints one table:
#
#   fused chain     relu(x * a + b) * c - x over 2^26 f32 kept on the device (a step graph
#                   updating a state in place), GB/s counted as 8 bytes per element, against a
#                   cudaMemcpy device to device of the same size (goal >= 0.8x)
#   sgemm           matmul of two f32[4096,4096] on the device against cublasSgemm, FP32
#                   math (goal >= 0.7x); a step graph whose update copies C into A on the
#                   device (64 MiB, well under 1% of the product's time), so no result
#                   crosses PCIe; the values overflow after some runs, which costs a GPU
#                   nothing
#   mlp / lenet     `mtc train --backend cuda` samples/s on random MNIST-shaped data (the IDX
#                   files are generated here: the machine may be offline), against PyTorch
#                   CUDA's when python3 imports torch with CUDA (goal >= 2x)
#
#   bench/gpu.sh               build into build-gpu/ and run everything
#   BUILD=dir bench/gpu.sh     another build directory
#
# Needs: cmake, a C compiler, LLVM 14 (mtc's CPU backend is always built), nvcc on PATH or in
# /usr/local/cuda/bin. Exits 1 without a GPU.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${BUILD:-$root/build-gpu}
work=$build/gpu-bench
mkdir -p "$work"
export PATH=$PATH:/usr/local/cuda/bin
command -v nvcc >/dev/null || { echo "gpu.sh: nvcc not found" >&2; exit 1; }
nvidia-smi -L || { echo "gpu.sh: no NVIDIA GPU here" >&2; exit 1; }

echo "building (cmake Release, nvcc) ..." >&2
cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$build" -j"$(nproc)" --target mtc bench_gpu_graph >/dev/null
nvcc -O2 -o "$work/gpu_ref" "$root/bench/gpu_ref.cu" -lcublas
mtc=$build/mtc
graph=$build/bench/bench_gpu_graph
value() { awk -v k="$2" '$1 == k {print $2}' "$1"; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.2f", a / b}'; }
rows=()
row() { rows+=("$(printf '| %-12s | %14s | %-22s | %14s | %6s |' "$@")"); }

# ---- fused elementwise chain vs device-to-device copy ---------------------------------------
n=$((1 << 26))
cat >"$work/chain.mt" <<EOF
mtir 1
graph chain {
  state %x : f32[$n]
  param %a : f32[$n]
  %k = const value=1.5 : f32[]
  %b = const value=0.25 : f32[]
  %c = const value=0.5 : f32[]
  %m = mul %x, %k
  %p = add %m, %b
  %r = relu %p
  %s = mul %r, %c
  %y = sub %s, %a
  %one = const value=1 : f32[]
  %o = mul %one, %one
  update %x <- %y
  output %o
}
EOF
"$graph" "$work/chain.mt" cuda 50 | tee "$work/chain.txt" >&2
"$work/gpu_ref" copy "$n" | tee "$work/copy.txt" >&2
ms=$(value "$work/chain.txt" ms_per_run)
# x read, a read, x written: 12 bytes per element.
chain=$(awk -v n="$n" -v ms="$ms" 'BEGIN {printf "%.1f", 12 * n / (ms * 1e-3) / 1e9}')
copy=$(value "$work/copy.txt" copy_gbs)
row "fused chain" "$chain GB/s" "D2D copy" "$copy GB/s" "$(ratio "$chain" "$copy")"

# ---- SGEMM vs cuBLAS ------------------------------------------------------------------------
cat >"$work/sgemm.mt" <<'EOF'
mtir 1
graph sgemm {
  state %a : f32[4096,4096]
  param %b : f32[4096,4096]
  %c = matmul %a, %b
  %one = const value=1 : f32[]
  %o = mul %one, %one
  update %a <- %c
  output %o
}
EOF
"$graph" "$work/sgemm.mt" cuda 10 | tee "$work/sgemm.txt" >&2
"$work/gpu_ref" sgemm 4096 | tee "$work/cublas.txt" >&2
ms=$(value "$work/sgemm.txt" ms_per_run)
tf=$(awk -v ms="$ms" 'BEGIN {printf "%.2f", 2 * 4096^3 / (ms * 1e-3) / 1e12}')
cub=$(value "$work/cublas.txt" sgemm_tflops)
row "sgemm 4096" "$tf TFLOP/s" "cublasSgemm FP32" "$cub TFLOP/s" "$(ratio "$tf" "$cub")"

# ---- training steps -------------------------------------------------------------------------
data=$work/mnist-random
mkdir -p "$data"
python3 - "$data" <<'EOF'
import os, random, struct, sys
d = sys.argv[1]
random.seed(0)
for prefix, n in (("train", 8192), ("t10k", 1024)):
    with open(os.path.join(d, prefix + "-images-idx3-ubyte"), "wb") as f:
        f.write(struct.pack(">IIII", 0x803, n, 28, 28))
        f.write(bytes(random.getrandbits(8) for _ in range(n * 784)))
    with open(os.path.join(d, prefix + "-labels-idx1-ubyte"), "wb") as f:
        f.write(struct.pack(">II", 0x801, n))
        f.write(bytes(random.randrange(10) for _ in range(n)))
EOF
torch_rate() { # MODEL: PyTorch CUDA samples/s of the same step, or "-"
    python3 "$root/bench/gpu_torch.py" "$1" 2>/dev/null | awk '$1 == "samples_s" {print $2}' || true
}
for model in mlp lenet; do
    "$mtc" train --model $model --data "$data" --epochs 2 --batch 64 --backend cuda \
        | tee "$work/$model.txt" >&2
    rate=$(awk '/^epoch 2\// {for (i = 1; i < NF; i++) if ($i == "samples/s") print $(i + 1)}' \
        "$work/$model.txt" | tr -d ',')
    ref=$(torch_rate $model)
    if [ -n "$ref" ]; then
        row "$model step" "$rate samples/s" "PyTorch CUDA eager" "$ref samples/s" "$(ratio "$rate" "$ref")"
    else
        row "$model step" "$rate samples/s" "PyTorch CUDA (absent)" "-" "-"
    fi
done

echo
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader
printf '| %-12s | %14s | %-22s | %14s | %6s |\n' benchmark mtc reference reference ratio
printf '|%s|%s|%s|%s|%s|\n' -------------- ---------------- ------------------------ ---------------- --------
printf '%s\n' "${rows[@]}"
