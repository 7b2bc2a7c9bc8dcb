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
