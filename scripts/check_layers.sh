#!/usr/bin/env bash
# check_layers.sh - keeps the folder layering honest (STYLE.md): a file may include headers of
# its own layer and of the layers below it, never above.
#   ir < runtime < passes < codegen < frontend < tools
# The frontend (builder, Module tree, nn, data, the training loop) sits on the program API
# that codegen implements, as any program using mtc would; nothing below it calls it.
# Prints each violation and exits 1 when there is one.
set -u
cd "$(dirname "$0")/.."
rank() {
    case $1 in
    mtc) echo 0 ;; ir) echo 0 ;; runtime) echo 1 ;; passes) echo 2 ;; codegen) echo 3 ;;
    frontend) echo 4 ;; tools) echo 5 ;; *) echo -1 ;;
    esac
}
bad=0 checked=0
for dir in ir runtime passes frontend codegen tools; do
    mine=$(rank "$dir")
    while IFS= read -r line; do
        file=${line%%:*}
        inc=$(echo "$line" | sed -E 's/.*#include "([^/"]+)\/.*/\1/')
        theirs=$(rank "$inc")
        checked=$((checked + 1))
        if [ "$theirs" -gt "$mine" ]; then
            echo "layering: $file includes a header of $inc/, a layer above $dir/"
            bad=1
        fi
    done < <(grep -rHE '^#include "[a-z]+/' "$dir" --include='*.c' --include='*.h')
done
echo "layering: $checked includes checked"
exit $bad
