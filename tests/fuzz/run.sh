#!/usr/bin/env bash
# run.sh - one libFuzzer target for a fixed time, as a CTest test (label "fuzz").
#
#   run.sh FUZZER CORPUS_DIR [DICT]
#
# New inputs go to a scratch directory (the checked-in seed corpus is only read); a crash,
# leak or timeout is written under $MT_FUZZ_ARTIFACTS (default: fuzz-artifacts in the current
# directory, the build tree under CTest) and fails the test. MT_FUZZ_SECONDS sets the time
# (default 30, what CI runs).
set -euo pipefail
fuzzer=$1 corpus=$2 dict=${3:-}
seconds=${MT_FUZZ_SECONDS:-30}
artifacts=${MT_FUZZ_ARTIFACTS:-$PWD/fuzz-artifacts}
mkdir -p "$artifacts"
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
args=(-max_total_time="$seconds" -timeout=25 -rss_limit_mb=2048 -print_final_stats=1
      -artifact_prefix="$artifacts/$(basename "$fuzzer")-")
[ -n "$dict" ] && args+=(-dict="$dict")
rc=0
"$fuzzer" "${args[@]}" "$scratch" "$corpus" >"$scratch.log" 2>&1 || rc=$?
if [ "$rc" -ne 0 ]; then
    tail -n 60 "$scratch.log"
    echo "fuzz: $(basename "$fuzzer") failed (exit $rc); the input is under $artifacts"
else
    grep -E '^(#[0-9]+ +DONE|Done [0-9]+ runs|stat::number_of_executed_units|stat::peak_rss_mb)' \
        "$scratch.log" || true
fi
rm -f "$scratch.log"
exit "$rc"
