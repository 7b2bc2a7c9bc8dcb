#!/usr/bin/env bash
# setup.sh - installs what mtc's build and tests need from Debian, and nothing else.
# Idempotent: when every package is present it only checks and exits (well under a second).
# The CUDA toolkit (NVRTC) is expected under /usr/local/cuda already; the build works without
# it (mtc loads libnvrtc and libcuda with dlopen; test_nvrtc then skips, and --backend cuda
# says what is missing).
set -euo pipefail
packages=(
    build-essential cmake pkg-config git
    clang llvm-14-dev llvm-14-tools libclang-rt-14-dev clang-format-14
    libcmocka-dev libcjson-dev zlib1g-dev
    valgrind   # tests/valgrind/run.sh (CTest "valgrind"): memcheck of a subset, zero errors and leaks
    libopenblas-dev   # bench/sgemm only: mtc itself never calls a BLAS
    dataset-fashion-mnist   # `mtc train --data fashion-mnist` (/usr/share/datasets/fashion-mnist)
    libopenmpi-dev openmpi-bin   # data-parallel runs under mpirun (libmpi is loaded with dlopen)
    python3 python3-numpy   # python/: the ctypes package for compiled .so files, and its tests
    # The opencl target's tests run on PoCL (OpenCL on the CPU); mtc loads libOpenCL.so.1 with
    # dlopen, so the headers and the dev package are for people writing OpenCL code, not the build.
    pocl-opencl-icd ocl-icd-libopencl1 ocl-icd-opencl-dev opencl-headers clinfo
)
missing=()
for p in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
    echo "setup: all build dependencies are installed"
    exit 0
fi
echo "setup: installing ${missing[*]}"
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO=sudo
$SUDO apt-get update -q
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"
