#!/usr/bin/env bash
# demo.sh - the README's first command, the main job: build mtc, train a Fashion-MNIST
# classifier JIT-compiled on the CPU (the data comes from Debian's dataset-fashion-mnist,
# installed by setup.sh: nothing is downloaded), compile the trained model ahead of time into a
# self-contained shared object, and call it from a small C program on test images. Then show a
# few things a student would want to see: the training step as MTIR, its kernels, a gradient
# check. Everything it writes goes to build/demo/.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh >/dev/null
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j"$(nproc)" --target mtc >/dev/null
mtc=./build/mtc
out=build/demo
data=/usr/share/datasets/fashion-mnist
mkdir -p "$out"

echo "== 1. train examples/fashion_mlp.mt (784-256-128-10) on Fashion-MNIST with Adam"
echo "   (the whole step, forward + backward + update, is one graph compiled once)"
$mtc train --model examples/fashion_mlp.mt --data fashion-mnist --optimizer adam --lr 0.001 \
    --epochs 2 --save "$out/fashion.safetensors" --log "$out/fashion.csv" --plot "$out/fashion.svg"
echo "   checkpoint $out/fashion.safetensors, curves $out/fashion.svg"
echo
echo "== 2. compile the trained model ahead of time: a .so that needs only libc and libm"
$mtc compile examples/fashion_mlp_predict.mt --weights "$out/fashion.safetensors" \
    -o "$out/libfashion_mlp_predict.so" --header "$out/fashion_mlp_predict.h"
ldd "$out/libfashion_mlp_predict.so" | sed 's/ (0x[0-9a-f]*)//; s/^/   /'
echo
echo "== 3. call it from C (examples/classify.c) on the first test images"
cc -O2 -I"$out" examples/classify.c -L"$out" -lfashion_mlp_predict -lz \
    -Wl,-rpath,"$PWD/$out" -o "$out/classify"
"$out/classify" "$data/t10k-images-idx3-ubyte.gz" "$data/t10k-labels-idx1-ubyte.gz" 12
echo
echo "== 4. the training step mtc compiled, as MTIR (mtc step; first and last lines)"
$mtc step examples/fashion_mlp.mt --optimizer adam >"$out/fashion_step.mt"
head -12 "$out/fashion_step.mt"
echo "   ..."
tail -9 "$out/fashion_step.mt"
echo
echo "== 5. its fused kernels (which updates are stored in place)"
$mtc dump "$out/fashion_step.mt" --stage kernels | grep -E '^(program|update|kernel)' | head -12
echo "   ..."
echo
echo "== 6. MiniTorch's Module 3 network on its split data set (H = 100, 500 epochs), and gradients"
echo "   checked against central differences in f64"
$mtc train --model minitorch --data split --hidden 100 --batch 10 --lr 0.05 --epochs 500 --seed 1 | tail -1
$mtc gradcheck examples/xor.mt --in examples/xor.in.safetensors | tail -3
