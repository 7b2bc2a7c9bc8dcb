#!/usr/bin/env bash
# examples.sh MTC SOURCE_DIR CC - examples/aot run as a user would: `make` in a copy of the
# directory compiles net.mt to libnet.so + net.h, links main.c with -lnet, runs it, and
# check.py loads the same .so through the Python package and compares it, and main's output,
# with `mtc run` on the interpreter. Skips (77) without make or /usr/bin/python3 with numpy.
set -euo pipefail
mtc=$(realpath "$1")
src=$(realpath "$2")
cc=$3
command -v make >/dev/null || { echo "examples: no make, skipped"; exit 77; }
/usr/bin/python3 -c "import numpy" 2>/dev/null || { echo "examples: no numpy, skipped"; exit 77; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cp "$src"/examples/aot/{Makefile,net.mt,net.safetensors,main.c,check.py} "$tmp"
PYTHONPATH="$src/python" make -C "$tmp" MTC="$mtc" CC="$cc" PYTHON=/usr/bin/python3 | tee "$tmp/log"
[ "$(grep -c '^sample [0-3]: ' "$tmp/main.out")" -eq 4 ] || { echo "FAIL: main printed no 4 samples"; exit 1; }
[ "$(grep -c ': ok$' "$tmp/log")" -eq 3 ] || { echo "FAIL: check.py did not pass its 3 checks"; exit 1; }
echo "examples: ok"
