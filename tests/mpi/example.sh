#!/usr/bin/env bash
# example.sh MTC SOURCE - examples/mpi/dp_xor.c as a user builds it (docs/distributed.md): the
# data-parallel step graph of examples/xor.mt compiled to libxor_step.so, a C program built with
# the system's mpicc that installs MPI_Allreduce through xor_set_allreduce, run under
# `mpirun -np 2`; it fails unless both ranks end with the same params and the loss has fallen.
# Skips (exit 77) where mpicc (libopenmpi-dev) or mpirun (openmpi-bin) is missing.
set -euo pipefail
mtc=$1 src=$2
for tool in mpicc mpirun; do
    command -v $tool >/dev/null || { echo "mpi_example: $tool not found, skipped"; exit 77; }
done
export ASAN_OPTIONS="${ASAN_OPTIONS:-}:detect_leaks=0"
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_btl=self,vader
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cd "$tmp"
"$mtc" step "$src/examples/xor.mt" --optimizer adam --lr 0.02 --data-parallel -o xor_step.mt
"$mtc" compile xor_step.mt -o libxor_step.so --weights "$src/examples/xor.in.safetensors"
# The .so exports the hook only for a graph with allreduce.
nm -D --defined-only libxor_step.so >syms
grep -q ' xor_set_allreduce$' syms
mpicc -std=c11 -O2 -Wall -Wextra -Werror -I. "$src/examples/mpi/dp_xor.c" -L. -lxor_step \
    -Wl,-rpath,'$ORIGIN' -lm -o dp_xor
timeout 120 mpirun --oversubscribe -np 2 ./dp_xor >run.log
cat run.log
grep -q 'params equal on every rank' run.log
