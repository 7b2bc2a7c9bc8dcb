#!/usr/bin/env bash
# check_file_size.sh - keeps every source file readable in one sitting (STYLE.md: one concept
# per file, files under ~800 lines): fails when a .c or .h under the library's folders is
# longer than 800 lines. Tests are exempt (a test file lists many cases of one concept).
# Prints each file over the limit and exits 1 when there is one.
set -u
cd "$(dirname "$0")/.."
limit=800 bad=0 checked=0
while IFS= read -r f; do
    n=$(wc -l <"$f")
    checked=$((checked + 1))
    if [ "$n" -gt "$limit" ]; then
        echo "file size: $f has $n lines (limit $limit): split it by concept"
        bad=1
    fi
done < <(find ir runtime passes frontend codegen tools include -name '*.[ch]' 2>/dev/null | sort)
echo "file size: $checked files checked"
exit $bad
