#!/usr/bin/env python3
"""Writes net.safetensors, the weights of net.mt (seeded, so the file is always the same).

Only the standard library: usage `python3 weights.py [OUT]` (default net.safetensors beside
this script). The file is checked in; this says how it was made.
"""
import json
import os
import random
import struct
import sys

rng = random.Random(7)
shapes = {"w1": [8, 16], "b1": [16], "w2": [16, 3], "b2": [3]}
header, blobs, offset = {}, [], 0
for name, shape in shapes.items():
    n = 1
    for d in shape:
        n *= d
    blob = struct.pack("<%df" % n, *[rng.uniform(-0.5, 0.5) for _ in range(n)])
    header[name] = {"dtype": "F32", "shape": shape, "data_offsets": [offset, offset + len(blob)]}
    blobs.append(blob)
    offset += len(blob)
text = json.dumps(header, separators=(",", ":")).encode()
text += b" " * (-len(text) % 8)
out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "net.safetensors")
with open(out, "wb") as f:
    f.write(struct.pack("<Q", len(text)) + text + b"".join(blobs))
