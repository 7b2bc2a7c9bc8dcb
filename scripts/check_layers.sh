#!/usr/bin/env bash
# check_layers.sh - keeps the folder layering honest (STYLE.md): a file may include headers of
# its own layer and of the layers below it, never above.
#   ir < runtime < passes < frontend < codegen < tools
# Prints each violation and exits 1 when there is one.
set -u
cd "$(dirname "$0")/.."
rank() {
    case $1 in
    mtc) echo 0 ;; ir) echo 0 ;; runtime) echo 1 ;; passes) echo 2 ;; frontend) echo 3 ;;
    codegen) echo 4 ;; tools) echo 5 ;; *) echo -1 ;;
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
