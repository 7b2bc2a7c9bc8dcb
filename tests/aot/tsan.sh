#!/usr/bin/env bash
# tsan.sh MTC SOURCE_DIR CC - threads.c built with -fsanitize=thread against three compiled
# models, with the .so's runtime (codegen/aotrt/aotrt.c: the pool, the per-thread scratch,
# the state API) instrumented too: a small model (scratch on the stack), a large one (the
# worker pool and the per-thread block), and Adam's step graph (four states stepping at
# once). Every thread must get the bits of a lone thread and TSan must report nothing.
# Skips (77) when CC cannot build and run a -fsanitize=thread program.
set -euo pipefail
mtc=$(realpath "$1")
src=$(realpath "$2")
cc=$3
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cd "$tmp"
fail() { echo "FAIL: $*"; exit 1; }
export TSAN_OPTIONS="halt_on_error=1 exitcode=66"

# A racy program first: TSan must work here and catch it, or the rest proves nothing.
cat > race.c <<'C'
#include <pthread.h>
static int x;
static void *bump(void *a) { (void)a; x++; return 0; }
int main(void) { pthread_t t[2]; for (int i = 0; i < 2; i++) pthread_create(&t[i], 0, bump, 0);
                 for (int i = 0; i < 2; i++) pthread_join(t[i], 0); return x == 0; }
C
if ! "$cc" -fsanitize=thread -g race.c -o race -lpthread 2>/dev/null; then
    echo "tsan: $cc cannot build with -fsanitize=thread, skipped"; exit 77
fi
rc=0; ./race 2>race.log || rc=$?
if [ "$rc" -ne 66 ]; then
    # A kernel whose memory layout TSan cannot use fails here with another status.
    if grep -q "ThreadSanitizer" race.log && ! grep -q "data race" race.log; then
        echo "tsan: ThreadSanitizer does not run here ($(head -1 race.log)), skipped"; exit 77
    fi
    fail "TSan missed a plain data race (exit $rc)"
fi
echo "tsan: a racy program is caught"

# The runtime of the .so, instrumented: mtc links with $MTC_CC, which swaps its aotrt.o for
# this one and links libtsan. It drops --no-undefined: clang leaves the TSan runtime out of
# shared objects (the executable that loads them carries it), so its symbols are undefined
# there by design; gcc links libtsan into the .so either way.
"$cc" -fsanitize=thread -g -O1 -std=c11 -D_GNU_SOURCE -fPIC -fvisibility=hidden -I"$src" \
    -c "$src/codegen/aotrt/aotrt.c" -o aotrt_tsan.o
cat > cc-tsan <<SH
#!/usr/bin/env bash
args=()
for a in "\$@"; do
    [[ \$a == -Wl,--no-undefined ]] && continue
    [[ \$a == */aotrt.o ]] && a=$tmp/aotrt_tsan.o
    args+=("\$a")
done
exec "$cc" -fsanitize=thread "\${args[@]}"
SH
chmod +x cc-tsan
export MTC_CC=$tmp/cc-tsan
"$mtc" compile "$src/examples/xor.mt" -o libxor.so --weights "$src/examples/xor.in.safetensors" --no-header
"$mtc" compile "$src/tests/aot/big.mt" -o libbig.so --no-header
"$mtc" step "$src/tests/torch/optim/mlp.mt" --optimizer adam -o step.mt
"$mtc" compile step.mt -o libmlp.so --weights "$src/tests/torch/optim/data.safetensors" --no-header
for so in libxor.so libbig.so libmlp.so; do
    nm "$so" > syms
    grep -q ' U __tsan_func_entry' syms || fail "$so: the runtime is not instrumented"
done

"$cc" -fsanitize=thread -g -O1 -std=c11 -Wall -Wextra -Werror "$src/tests/aot/threads.c" \
    -o threads -ldl -lpthread
status=0
for run in "libxor.so xor" "libbig.so big" "libmlp.so mlp step"; do
    # Two workers besides the caller, so the pool is used even on a 2-core machine.
    # shellcheck disable=SC2086
    MTC_NUM_THREADS=3 ./threads ./$run 2>tsan.log || status=$?
    if [ -s tsan.log ]; then cat tsan.log; fi
    [ "$status" -eq 0 ] || fail "threads $run: exit $status"
    if grep -q "WARNING: ThreadSanitizer" tsan.log; then fail "threads $run: TSan reports"; fi
done
echo "tsan: ok"
