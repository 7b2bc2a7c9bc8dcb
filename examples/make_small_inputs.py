#!/usr/bin/env python3
"""Writes examples/small.in.safetensors, the inputs of examples/ops_tour.mt (docs/ops.md):
x = [[1, 2, 3], [4, 5, 6]] and b = [10, 20, 30] in f32.

No third-party packages (struct + json). Usage:
    python3 examples/make_small_inputs.py
"""
import json
import os
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


save(os.path.join(os.path.dirname(os.path.abspath(__file__)), "small.in.safetensors"), {
    "x": ([2, 3], [1, 2, 3, 4, 5, 6]),
    "b": ([3], [10, 20, 30]),
})
print("wrote examples/small.in.safetensors")
