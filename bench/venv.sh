#!/bin/sh
# Makes the Python venv that bench/train.sh compares against: the newest PyTorch, JAX on CPU,
# onnxruntime and numpy. PyTorch comes from its CPU-only index where that is reachable (no
# gigabytes of CUDA libraries), else from PyPI, whose Linux wheel pulls the CUDA libraries
# too (unused on a CPU; about 3 GB on disk). It lives outside the
# repository (default /work/venv, or the first argument) because it is large and per machine.
set -eu
VENV=${1:-/work/venv}
PY=${PYTHON:-/usr/bin/python3}
"$PY" -m venv "$VENV"
"$VENV/bin/pip" install --upgrade pip
"$VENV/bin/pip" install torch --index-url https://download.pytorch.org/whl/cpu ||
    "$VENV/bin/pip" install torch
"$VENV/bin/pip" install "jax[cpu]" onnxruntime numpy
"$VENV/bin/python" -c 'import torch, jax, onnxruntime, numpy; print("torch", torch.__version__, "jax", jax.__version__, "onnxruntime", onnxruntime.__version__, "numpy", numpy.__version__)'
