#!/usr/bin/env bash
# demo.sh - the README's first command: build mtc and run the main job on a graph that needs no
# download, printing each stage a student would want to see.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh >/dev/null
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j"$(nproc)" --target mtc >/dev/null
mtc=./build/mtc
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT

echo "== the model (examples/xor.mt), as mtc prints it"
$mtc dump examples/xor.mt
echo
echo "== its loss and predictions on 16 Xor points (reference interpreter)"
$mtc run examples/xor.mt --in examples/xor.in.safetensors --out "$out/out.safetensors" --backend interp
$mtc show "$out/out.safetensors" | head -6
echo
echo "== the same on the CPU backend (fused kernels, LLVM JIT)"
$mtc run examples/xor.mt --in examples/xor.in.safetensors --out "$out/cpu.safetensors" --backend cpu
$mtc show "$out/cpu.safetensors" | head -2
echo
echo "== how the compiler partitions it into kernels, and why values are stored"
$mtc dump examples/xor.mt --stage fused --why
echo
echo "== the gradient of the loss with respect to w3, as MTIR with provenance"
$mtc dump examples/xor.mt --stage grad --wrt w3 --provenance | grep -A40 'seed'
echo
echo "== checked against central differences in f64"
$mtc gradcheck examples/xor.mt --in examples/xor.in.safetensors
echo
echo "== what each pass does to the training graph"
$mtc dump examples/xor.mt --stats --wrt w1,b1,w2,b2,w3,b3
