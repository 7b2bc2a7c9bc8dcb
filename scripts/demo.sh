#!/usr/bin/env bash
# demo.sh - the README's first command, the main job: build mtc, train LeNet on Fashion-MNIST,
# JIT-compiled on the CPU (the data comes from Debian's dataset-fashion-mnist,
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

echo "== 1. train LeNet (examples/lenet.mt: conv 8, conv 16, fc 64, fc 10) on Fashion-MNIST"
echo "   with Adam; the whole step (forward, backward, update) is one graph compiled once"
$mtc train --model examples/lenet.mt --data fashion-mnist --optimizer adam --lr 0.002 \
    --epochs 2 --save "$out/lenet.safetensors" --log "$out/lenet.csv" --plot "$out/lenet.svg"
echo "   checkpoint $out/lenet.safetensors, curves $out/lenet.svg"
echo
echo "== 2. compile the trained model ahead of time: a .so that needs only libc and libm"
$mtc compile examples/lenet_predict.mt --weights "$out/lenet.safetensors" \
    -o "$out/liblenet_predict.so" --header "$out/lenet_predict.h"
ldd "$out/liblenet_predict.so" | sed 's/ (0x[0-9a-f]*)//; s/^/   /'
echo
echo "== 3. call it from C (examples/classify.c) on the first test images"
cc -O2 -I"$out" examples/classify.c -L"$out" -llenet_predict -lz \
    -Wl,-rpath,"$PWD/$out" -o "$out/classify"
"$out/classify" "$data/t10k-images-idx3-ubyte.gz" "$data/t10k-labels-idx1-ubyte.gz" 12
echo
echo "== 4. the training step mtc compiled, as MTIR (mtc step; first and last lines)"
$mtc step examples/lenet.mt --optimizer adam >"$out/lenet_step.mt"
head -14 "$out/lenet_step.mt"
echo "   ..."
tail -10 "$out/lenet_step.mt"
echo
echo "== 5. its fused kernels (which updates are stored in place)"
$mtc dump "$out/lenet_step.mt" --stage kernels | grep -E '^(program|update|kernel)' | head -12
echo "   ..."
echo
echo "== 6. MiniTorch's Module 3 network on its split data set (H = 100, 500 epochs), and gradients"
echo "   checked against central differences in f64"
$mtc train --model minitorch --data split --hidden 100 --batch 10 --lr 0.05 --epochs 500 --seed 1 | tail -1
$mtc gradcheck examples/xor.mt --in examples/xor.in.safetensors | tail -3
