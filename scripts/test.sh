#!/usr/bin/env bash
# test.sh - builds mtc and runs every test, twice: a normal build (warnings are errors) and an
# AddressSanitizer + UndefinedBehaviorSanitizer build. This is the README's test command and
# exactly what .ci/run runs.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh
jobs=$(nproc)
log=$(mktemp)
trap 'rm -f "$log"' EXIT

# The closing lines of every cmocka suite and of the lit runner, from CTest's log.
summaries() {
    echo "== summaries ($1)"
    grep -h -E '^\[==========\] [0-9]+ test\(s\) run|^\[  (PASSED|FAILED)  \]|^lit: [0-9]+ passed' \
        "$1/Testing/Temporary/LastTest.log" || true
}

echo "== build (RelWithDebInfo, -Werror)"
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo -DMT_WERROR=ON >/dev/null
cmake --build build -j"$jobs"
echo "== tests"
ctest --test-dir build --output-on-failure -j"$jobs" | tee "$log"
summaries build

echo "== build (ASan + UBSan, and the libFuzzer targets)"
# MT_FUZZ=ON adds the fuzz targets, each run for 30 s by ctest below (label "fuzz",
# docs/fuzzing.md); without libFuzzer they are left out with a warning.
cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=Debug -DMT_WERROR=ON -DCMAKE_C_COMPILER=clang \
    -DMT_SANITIZE='address;undefined' -DMT_FUZZ=ON >/dev/null
cmake --build build-asan -j"$jobs"
echo "== tests under sanitizers"
# The GPU targets' tests (OpenCL on PoCL, CUDA C through NVRTC) run in the first build only:
# they spend minutes in PoCL's and NVRTC's own compilers, which the sanitizers do not look
# into; under the sanitizers those targets report themselves absent and their tests skip.
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
    MTC_OPENCL=0 MTC_NVRTC=0 \
    ctest --test-dir build-asan --output-on-failure -j"$jobs" | tee -a "$log"
summaries build-asan

# One closing line over both builds (CTest tests; each holds many cmocka cases).
total=$(grep -h -E 'tests failed out of [0-9]+' "$log" | sed -E 's/.* out of ([0-9]+)/\1/' |
    awk '{ s += $1 } END { print s }')
failed=$(grep -h -E 'tests failed out of' "$log" | sed -E 's/.*, ([0-9]+) tests failed.*/\1/' |
    awk '{ s += $1 } END { print s }')
echo "ctest: $((total - failed)) passed, $failed failed"
