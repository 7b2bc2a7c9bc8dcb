#!/usr/bin/env bash
# run.sh BUILD SOURCE [CC [CFLAGS]] - installs the build into BUILD/install-test, then builds
# examples/affine.c against the installed tree only (find_package(mtc) with the shared and the
# static library, and pkg-config) with compiler CC and flags CFLAGS (a sanitizer build's) and
# runs each build.
set -euo pipefail
build=$(realpath "$1")
src=$(realpath "$2")
cc=${3:-cc}
cflags=${4:-}
prefix=$build/install-test
work=$build/install-consumer
rm -rf "$prefix" "$work"
cmake --install "$build" --prefix "$prefix" >/dev/null
for f in bin/mtc include/mtc/mtc.h lib/pkgconfig/mtc.pc lib/cmake/mtc/mtcConfig.cmake; do
    [ -e "$prefix/$f" ] || { echo "install: $f is missing"; exit 1; }
done
ls "$prefix"/lib/libmtc.so "$prefix"/lib/libmtc.a >/dev/null

echo "== find_package(mtc)"
cmake -S "$src/tests/install" -B "$work" -DCMAKE_PREFIX_PATH="$prefix" \
    -DMT_EXAMPLE="$src/examples/affine.c" -DCMAKE_BUILD_TYPE=Release -DCMAKE_C_COMPILER="$cc" \
    -DCMAKE_C_FLAGS="$cflags" -DCMAKE_EXE_LINKER_FLAGS="$cflags" >/dev/null
cmake --build "$work" >/dev/null
"$work/affine_shared" >/dev/null
"$work/affine_static" >/dev/null
# The shared build really uses the installed libmtc.so.
# grep reads all of ldd's output: with -q it could exit first and pipefail would see SIGPIPE.
ldd "$work/affine_shared" | grep "$prefix/lib/libmtc.so" >/dev/null

echo "== pkg-config mtc"
export PKG_CONFIG_PATH=$prefix/lib/pkgconfig
# shellcheck disable=SC2046,SC2086 # word splitting of the flags is meant
"$cc" -std=c11 -Wall -Wextra -Wpedantic -Werror $cflags "$src/examples/affine.c" \
    -o "$work/affine_pc" $(pkg-config --cflags --libs mtc) -Wl,-rpath,"$prefix/lib"
"$work/affine_pc"
"$prefix/bin/mtc" --help >/dev/null
echo "install: ok"
