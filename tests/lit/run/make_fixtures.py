#!/usr/bin/env python3
"""Writes the small safetensors fixtures used by the `mtc run` lit tests.

Plain struct + json, no third-party package, so it runs anywhere. Deterministic: re-running
gives identical files. Usage: python3 tests/lit/run/make_fixtures.py
"""
import json
import os
import struct

HERE = os.path.dirname(os.path.abspath(__file__))


def save(path, tensors):
    header, blobs, offset = {}, [], 0
    for name, (dtype, shape, values) in tensors.items():
        fmt = {"F32": "f", "F64": "d"}[dtype]
        blob = struct.pack("<%d%s" % (len(values), fmt), *values)
        header[name] = {"dtype": dtype, "shape": shape, "data_offsets": [offset, offset + len(blob)]}
        blobs.append(blob)
        offset += len(blob)
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)
    with open(os.path.join(HERE, path), "wb") as f:
        f.write(struct.pack("<Q", len(text)) + text + b"".join(blobs))


x = [float(i) - 2.5 for i in range(6)]  # [[-2.5,-1.5,-0.5],[0.5,1.5,2.5]]
w = [0.5, -1.0, 2.0, 0.25, 1.0, -0.5]  # [[0.5,-1],[2,0.25],[1,-0.5]]
save("affine.in.safetensors", {"x": ("F32", [2, 3], x), "w": ("F32", [3, 2], w),
                               "unused": ("F64", [], [7.0])})
save("affine_wrong_shape.in.safetensors", {"x": ("F32", [3, 2], x), "w": ("F32", [3, 2], w)})
save("affine_wrong_dtype.in.safetensors", {"x": ("F64", [2, 3], x), "w": ("F32", [3, 2], w)})
save("affine_missing_w.in.safetensors", {"x": ("F32", [2, 3], x)})
print("wrote fixtures to", HERE)
