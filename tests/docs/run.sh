#!/usr/bin/env bash
# run.sh - the doc test: runs the command examples of README.md and docs/*.md and checks their
# output, so that what the docs show is what mtc does.
#
# usage: run.sh MTC ROOT [FILTER]
#   MTC     the built mtc binary
#   ROOT    the repository root
#   FILTER  only Markdown files whose path contains FILTER
#
# What is tested: fenced blocks that open with exactly ```console (at the start of the line).
# Inside one:
#   - a line starting with '$ ' is a command, run by bash from the repository root (a scratch
#     copy of it: see below) with `mtc` on PATH resolving to MTC (`build/mtc` works too);
#   - the lines after it, up to the next '$ ' line or the closing fence, are its expected
#     output: stdout and stderr together, compared line by line after trailing blanks are
#     dropped (blank lines at the end do not count, so a blank line may separate commands).
#     A line that is exactly '...' matches any number of lines (none included), and
#     '...' inside a line matches any text within that line. No lines means no output.
#   - a command must exit 0; to show a failing one, end it with `; echo "exit $?"`, which both
#     documents and checks the status;
#   - the commands of one block run one after the other and share the working directory (a
#     `cd` carries over to the next command of the block); each block starts at the root.
# Every other block (```text, ```c, ```sh, plain ```) is left alone: use those for syntax
# sketches, planned commands and output that depends on the machine (timings, benchmarks).
#
# Each Markdown file gets its own scratch copy of the repository (without build*/ and .git), so
# commands may write files (`--out out.safetensors`) and later blocks of the same file may read
# them, and nothing is written into the checkout. MTC_CACHE_DIR defaults to a temp dir.
# Prints one report per failure and 'docs: N passed, N failed' (N commands); exits 1 when any
# command failed or none ran.
set -u
mtc=$(realpath "$1")
root=$(realpath "$2")
filter=${3:-}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp/bin" "$tmp/cache"
ln -s "$mtc" "$tmp/bin/mtc"
export PATH="$tmp/bin:$PATH" LC_ALL=C
export MTC_CACHE_DIR=${MTC_CACHE_DIR:-$tmp/cache}

# The matcher: exit 0 when the actual lines (file 2) match the expected ones (file 1).
matcher='
function linematch(p, s,    n, parts, i, pos, k, tail) {
    if (index(p, "...") == 0) return p == s
    n = split(p, parts, /\.\.\./)
    if (substr(s, 1, length(parts[1])) != parts[1]) return 0
    pos = length(parts[1]) + 1
    for (i = 2; i < n; i++) {
        k = index(substr(s, pos), parts[i])
        if (!k) return 0
        pos += k - 1 + length(parts[i])
    }
    tail = length(s) - length(parts[n]) + 1
    return tail >= pos && substr(s, tail) == parts[n]
}
{ sub(/[ \t]+$/, "") }
FNR == NR { P[++np] = $0; next }
{ A[++na] = $0 }
END {
    while (np > 0 && P[np] == "") np--
    while (na > 0 && A[na] == "") na--
    i = 1; j = 1; star = 0; mark = 0
    while (i <= na) {
        if (j <= np && P[j] == "...") { star = j; mark = i; j++; continue }
        if (j <= np && linematch(P[j], A[i])) { i++; j++; continue }
        if (star) { j = star + 1; mark++; i = mark; continue }
        exit 1
    }
    while (j <= np && P[j] == "...") j++
    exit j > np ? 0 : 1
}'

pass=0 fail=0
scratch=
cwd=
cmd=
cmdline=0
md=
exp="$tmp/expected"
act="$tmp/actual"

# Runs the pending command of the current block and checks it.
flush() {
    [ -z "$cmd" ] && return
    local rc=0
    (cd "$cwd" && bash -c "$cmd"$'\n''__rc=$?; pwd >"'"$tmp/cwd"'"; exit $__rc') >"$act" 2>&1 \
        </dev/null || rc=$?
    [ -s "$tmp/cwd" ] && cwd=$(cat "$tmp/cwd")
    rm -f "$tmp/cwd"
    if [ $rc -ne 0 ]; then
        report "exited $rc (end the command with '; echo \"exit \$?\"' to show a failure)"
    elif ! awk "$matcher" "$exp" "$act"; then
        report "output differs"
    else
        pass=$((pass + 1))
    fi
    cmd=
}

report() {
    fail=$((fail + 1))
    echo "FAIL: $md:$cmdline: $1"
    echo "  \$ $cmd"
    echo "  expected:"
    head -30 "$exp" | sed 's/^/  | /'
    echo "  got:"
    head -30 "$act" | sed 's/^/  | /'
}

shopt -s nullglob
for f in "$root/README.md" "$root"/docs/*.md; do
    md=${f#"$root"/}
    [ -n "$filter" ] && [[ "$md" != *"$filter"* ]] && continue
    grep -q '^```console$' "$f" || continue
    scratch="$tmp/repo-$(basename "$f" .md)"
    mkdir -p "$scratch"
    tar -C "$root" --exclude='./build*' --exclude='./.git' -cf - . | tar -C "$scratch" -xf -
    mkdir -p "$scratch/build"
    ln -s "$mtc" "$scratch/build/mtc"
    inblock=0 n=0
    while IFS= read -r line || [ -n "$line" ]; do
        n=$((n + 1))
        if [ $inblock = 0 ]; then
            if [ "$line" = '```console' ]; then
                inblock=1 cwd=$scratch cmd=
            fi
            continue
        fi
        if [ "$line" = '```' ]; then
            flush
            inblock=0
        elif [[ "$line" == '$ '* ]]; then
            flush
            cmd=${line#'$ '} cmdline=$n
            : >"$exp"
        elif [ -n "$cmd" ]; then
            printf '%s\n' "$line" >>"$exp"
        else
            fail=$((fail + 1))
            echo "FAIL: $md:$n: output line before any '\$ ' command in a console block"
        fi
    done <"$f"
    if [ $inblock = 1 ]; then
        fail=$((fail + 1))
        echo "FAIL: $md: unclosed console block"
    fi
done

echo "docs: $pass passed, $fail failed"
[ $fail -eq 0 ] && [ $pass -gt 0 ]
