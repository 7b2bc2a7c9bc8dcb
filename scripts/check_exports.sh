#!/usr/bin/env bash
# check_exports.sh LIB - libmtc.so exports the public API (mtc.h's MT_API declarations) and
# nothing else: every defined dynamic symbol starts with mt_. Prints the offenders, exits 1.
set -u
lib=$1
syms=$(nm -D --defined-only "$lib" | awk '{print $NF}') || exit 1
bad=$(echo "$syms" | grep -v '^mt_' || true)
if [ -n "$bad" ]; then
    echo "exports: symbols outside the mt_ prefix in $lib:"
    echo "$bad" | sed 's/^/  /'
    exit 1
fi
for want in mt_graph_new mt_program_compile mt_program_run; do
    if ! echo "$syms" | grep -x "$want" >/dev/null; then
        echo "exports: $lib does not export $want"
        exit 1
    fi
done
echo "exports: $(echo "$syms" | wc -l) symbols, all mt_"
