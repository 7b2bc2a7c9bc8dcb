#!/usr/bin/env bash
# run.sh - the lit-style runner: every .mt file under DIR with '# RUN:' lines is a test.
#
# usage: run.sh MTC DIR [FILTER]
# In RUN lines: %mtc is the mtc binary, %s the test file, %t a fresh temp path, %S the test's
# folder, FileCheck is LLVM's; `exits N CMD...` runs CMD and succeeds only if it exits N.
# Each RUN line runs under bash with pipefail. Prints one line per failure and a summary
# 'N passed, N failed'; exits 1 when any test failed or none ran.
set -u
mtc=$(realpath "$1")
dir=$2
filter=${3:-}
filecheck=${FILECHECK:-/usr/lib/llvm-14/bin/FileCheck}
if [ ! -x "$filecheck" ]; then filecheck=$(command -v FileCheck-14 || command -v FileCheck || true); fi
if [ -z "$filecheck" ]; then echo "run.sh: FileCheck not found (install llvm-14-tools)"; exit 1; fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

prelude='exits() { local want=$1; shift; "$@"; local got=$?; if [ "$got" -ne "$want" ]; then echo "exits: expected exit $want, got $got" >&2; return 1; fi; return 0; }'

pass=0 fail=0
while IFS= read -r -d '' f; do
    [ -n "$filter" ] && [[ "$f" != *"$filter"* ]] && continue
    grep -q '# RUN:' "$f" || continue
    ok=1 n=0
    while IFS= read -r line; do
        cmd=${line#*# RUN: }
        n=$((n + 1))
        t="$tmp/$(basename "$f")"
        cmd=${cmd//%mtc/$mtc}
        cmd=${cmd//%s/$f}
        cmd=${cmd//%t/$t}
        cmd=${cmd//%S/$(dirname "$f")}
        cmd=${cmd//FileCheck/$filecheck}
        if ! out=$(bash -o pipefail -c "$prelude; $cmd" 2>&1); then
            ok=0
            echo "FAIL: ${f#"$dir"/} (RUN line $n)"
            echo "  \$ $cmd"
            echo "$out" | head -20 | sed 's/^/  | /'
            break
        fi
    done < <(grep '# RUN:' "$f")
    if [ $ok = 1 ]; then pass=$((pass + 1)); else fail=$((fail + 1)); fi
done < <(find "$dir" -name '*.mt' -print0 | sort -z)

echo "lit: $pass passed, $fail failed"
[ $fail -eq 0 ] && [ $pass -gt 0 ]
