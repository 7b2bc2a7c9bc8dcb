#!/usr/bin/env python3
"""Writes tests/golden/torch_written.safetensors: a file produced by PyTorch's own writer.

test_safetensors.c reads it and checks every value, which proves mtc loads what PyTorch writes
without needing Python in CI. The values are exact in binary (quarters and small integers) or
computed the same way in C (i * 0.1 in f64), so the C test can compare with ==.

Regenerate (needs torch and the `safetensors` package):
    python3 tests/torch/make_safetensors_fixture.py
"""
import os

import torch
from safetensors.torch import save_file

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "..", "golden", "torch_written.safetensors")


def main():
    tensors = {
        # f32, rank 2: -1.5, -1.25, ..., 1.25
        "layer.weight": torch.arange(12, dtype=torch.float32).reshape(3, 4) * 0.25 - 1.5,
        # f64, rank 0: a value f32 cannot hold exactly
        "scale": torch.tensor(0.1, dtype=torch.float64),
        # f64, rank 3: i * 0.1 for i = 0..23
        "grad.w1": torch.arange(24, dtype=torch.float64).reshape(2, 3, 4) * 0.1,
    }
    save_file(tensors, OUT, metadata={"source": "make_safetensors_fixture.py"})
    print("wrote", os.path.normpath(OUT))


if __name__ == "__main__":
    main()
