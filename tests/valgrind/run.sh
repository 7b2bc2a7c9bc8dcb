#!/usr/bin/env bash
# run.sh - a representative subset of mtc under valgrind's memcheck: zero errors, zero leaks.
#
#   run.sh MTC SOURCE_DIR TEST_DIR
#
# Every command runs under memcheck with --leak-check=full, and a definite, indirect or
# possible leak counts as an error as much as an invalid read does (exit 99). The subset walks
# every layer once on the XOR example: the Adam step written as MTIR (parse, the gradient, the
# optimiser, the printer), the interpreter, the training step on the CPU backend with an empty
# kernel cache (the passes, the kernel IR, LLVM, the JIT) and again with the cache filled,
# `mtc compile` to a shared object (valgrind does not follow the C compiler it runs), and three
# unit tests of the readers (MTIR, safetensors, the kernel IR verifier). Each command costs
# valgrind some seconds just to read libLLVM, so the subset is kept short. The GPU targets are off (MTC_OPENCL=0, MTC_NVRTC=0): PoCL and NVRTC are other
# programs' compilers. No suppressions are needed (docs/fuzzing.md). Skips (77) without valgrind.
set -euo pipefail
mtc=$1 src=$2 tests=$3
if ! command -v valgrind >/dev/null 2>&1; then
    echo "valgrind: not installed (scripts/setup.sh installs it); skipped"
    exit 77
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
export MTC_OPENCL=0 MTC_NVRTC=0 MTC_CACHE_DIR=$work/cache MTC_NUM_THREADS=2
vg=(valgrind -q --error-exitcode=99 --leak-check=full --show-leak-kinds=definite,indirect,possible
    --errors-for-leak-kinds=definite,indirect,possible --num-callers=30)
xor=$src/examples/xor.mt in=$src/examples/xor.in.safetensors
failed=0
check() {
    local t0=$SECONDS
    if "${vg[@]}" "$@" >"$work/out.txt" 2>"$work/err.txt"; then
        echo "ok ($((SECONDS - t0)) s): ${*#"$mtc "}"
    else
        echo "FAILED (exit $?): $*"
        tail -n 80 "$work/err.txt"
        failed=1
    fi
}
check "$mtc" step "$xor" --optimizer adam -o "$work/step.mt"
check "$mtc" run "$xor" --in "$in" --out "$work/interp.safetensors" --backend interp
check "$mtc" run "$work/step.mt" --in "$in" --out "$work/cold.safetensors" --backend cpu
check "$mtc" run "$work/step.mt" --in "$in" --out "$work/warm.safetensors" --backend cpu
cmp "$work/cold.safetensors" "$work/warm.safetensors" || { echo "cold and warm runs differ"; failed=1; }
check "$mtc" compile "$xor" -o "$work/libxor.so" --weights "$in"
for t in test_parse test_safetensors test_kernel_verify; do
    check "$tests/$t"
done
exit "$failed"
