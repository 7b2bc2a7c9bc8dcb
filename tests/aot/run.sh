#!/usr/bin/env bash
# run.sh - what a user sees of `mtc compile`'s output: the .so needs only libc, libm and
# pthreads (ldd), exports only the ABI (nm -D), a --target x86-64-v2 build has no AVX
# (objdump), and examples/predict.c builds against the header and runs.
#
# usage: run.sh MTC SOURCE_DIR CC
set -eu
mtc=$(realpath "$1")
src=$(realpath "$2")
cc=$3
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cd "$tmp"
fail() { echo "FAIL: $*"; exit 1; }

"$mtc" compile "$src/examples/xor.mt" -o libxor.so --weights "$src/examples/xor.in.safetensors"
[ -f xor.h ] || fail "no xor.h beside libxor.so"

# Only libc, libm (and the loader): no libLLVM, no libmtc, no libstdc++.
deps=$(ldd libxor.so | awk '{print $1}' | grep -vE '^(linux-vdso|/lib64/ld-linux|ld-linux)' | sort -u)
for d in $deps; do
    case $d in
    libc.so.*|libm.so.*|libpthread.so.*) ;;
    *) fail "libxor.so needs $d" ;;
    esac
done
echo "ldd: $(echo $deps | tr '\n' ' ')"

# The defined dynamic symbols are exactly the ABI's.
exports=$(nm -D --defined-only libxor.so | awk '$2 ~ /^[TDRBV]$/ {print $3}' | sort | tr '\n' ' ')
[ "$exports" = "xor_abi_version xor_run xor_signature " ] || fail "exports: $exports"
echo "exports: $exports"

# A step graph exports the state API instead of NAME_run.
"$mtc" step "$src/tests/torch/optim/mlp.mt" --optimizer adam -o step.mt
"$mtc" compile step.mt -o libmlp.so --weights "$src/tests/torch/optim/data.safetensors" --no-header
exports=$(nm -D --defined-only libmlp.so | awk '$2 ~ /^[TDRBV]$/ {print $3}' | sort | tr '\n' ' ')
[ "$exports" = "mlp_abi_version mlp_signature mlp_state_free mlp_state_get mlp_state_new mlp_state_set mlp_step " ] ||
    fail "step exports: $exports"
[ ! -e mlp.h ] || fail "--no-header wrote mlp.h"

# A portable build: no 256- or 512-bit registers anywhere in its code.
"$mtc" compile "$src/examples/xor.mt" -o libxor_v2.so --weights "$src/examples/xor.in.safetensors" \
    --target x86-64-v2 --no-header
if objdump -d libxor_v2.so | grep -E '%(ymm|zmm)' >/dev/null; then fail "x86-64-v2 build uses AVX"; fi
echo "x86-64-v2: no ymm/zmm"

# The C example, built against the header and linked with -lxor.
"$cc" -std=c11 -Wall -Wextra -Werror -I. "$src/examples/predict.c" -L. -lxor -Wl,-rpath,"$tmp" -o predict
./predict > predict.out
cat predict.out
[ "$(wc -l < predict.out)" -eq 4 ] || fail "predict printed $(wc -l < predict.out) lines"
grep -q '^(0.1, 0.9): p = 0\.[0-9]* -> class [01]$' predict.out || fail "predict output"
echo "aot: ok"
