#!/usr/bin/env python3
"""Writes examples/xor.in.safetensors: 16 Xor points (MiniTorch's "Xor" data set formula) and
weights initialised as in run_fast_tensor.py (W uniform in [-0.5, 0.5), b = 0.1).

No third-party packages (struct + json), deterministic (seeded). Usage:
    python3 examples/make_xor_inputs.py
"""
import json
import os
import random
import struct


def save(path, tensors):
    header, blobs, offset = {}, [], 0
    for name, (shape, values) in tensors.items():
        blob = struct.pack("<%df" % len(values), *values)
        header[name] = {"dtype": "F32", "shape": shape, "data_offsets": [offset, offset + len(blob)]}
        blobs.append(blob)
        offset += len(blob)
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)) + text + b"".join(blobs))


rng = random.Random(100)
pts = [(rng.random(), rng.random()) for _ in range(16)]
label = [1.0 if (a < 0.5 and b > 0.5) or (a > 0.5 and b < 0.5) else 0.0 for a, b in pts]
def w(n):
    return [rng.random() - 0.5 for _ in range(n)]
save(os.path.join(os.path.dirname(os.path.abspath(__file__)), "xor.in.safetensors"), {
    "x": ([16, 2], [c for p in pts for c in p]),
    "y": ([16, 1], label),
    "w1": ([2, 10], w(20)), "b1": ([10], [0.1] * 10),
    "w2": ([10, 10], w(100)), "b2": ([10], [0.1] * 10),
    "w3": ([10, 1], w(10)), "b3": ([1], [0.1]),
})
print("wrote examples/xor.in.safetensors")
