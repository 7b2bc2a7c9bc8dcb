#!/usr/bin/env python3
"""Writes the safetensors fixtures of the `mtc gradcheck` lit tests.

Plain struct + json, no third-party package. Deterministic: re-running gives identical files.
Usage: python3 tests/lit/grad/make_fixtures.py
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


# w[0,1] is exactly 0: relu's kink, where its subgradient (0) and central differences (1/2) part.
save("kink.in.safetensors", {"w": ("F32", [3, 2], [0.5, 0.0, -1.5, 2.0, 0.7, 0.9]),
                             "v": ("F64", [2], [1.0, 2.0])})
save("smooth.in.safetensors", {"w": ("F32", [3, 2], [0.5, 0.1, -1.5, 2.0, 0.7, 0.9]),
                               "v": ("F64", [2], [1.0, 2.0])})
save("kink_wrong_shape.in.safetensors", {"w": ("F32", [2, 3], [0.0] * 6),
                                         "v": ("F32", [2], [1.0, 2.0])})
print("wrote fixtures to", HERE)
