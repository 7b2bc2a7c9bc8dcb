#!/usr/bin/env bash
# bench/ulp/run.sh - the CPU backend's float functions measured in ulp (docs/vmath.md):
# every one of the 2^32 f32 inputs for exp, log, tanh, sigmoid, sqrt and inv, 2^28 sampled pairs
# for f32 pow, and 2^26 samples of each function in f64. About a minute per exhaustive
# function per core; the reference runs on every core.
#
#   bench/ulp/run.sh             build bench_ulp in build/ (BUILD=dir for another) and run all
#   bench/ulp/run.sh exp tanh    only these functions
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
build=${BUILD:-$root/build}
if [ ! -f "$build/CMakeCache.txt" ]; then
    cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=Release >/dev/null
fi
cmake --build "$build" --target bench_ulp >/dev/null
fns=("$@")
[ ${#fns[@]} -gt 0 ] || fns=(exp log tanh sigmoid sqrt inv pow)
status=0
for fn in "${fns[@]}"; do
    if [ "$fn" = pow ]; then
        "$build/bench/bench_ulp" --samples $((1 << 28)) pow || status=1
    else
        "$build/bench/bench_ulp" "$fn" || status=1
    fi
done
"$build/bench/bench_ulp" --f64 --samples $((1 << 26)) "${fns[@]}" || status=1
exit $status
