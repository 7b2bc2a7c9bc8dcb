#!/usr/bin/python3
"""st_compare.py A.safetensors B.safetensors [TOL] - exits 0 when both files hold the same tensor
names and every element agrees to TOL relative to max(1, |b|) (default 1e-5); prints the worst."""
import json
import struct
import sys

import numpy as np


def load(path):
    with open(path, "rb") as f:
        raw = f.read()
    n = struct.unpack("<Q", raw[:8])[0]
    head = json.loads(raw[8:8 + n])
    out = {}
    for name, t in head.items():
        if name == "__metadata__":
            continue
        a, b = t["data_offsets"]
        dt = {"F32": "<f4", "F64": "<f8"}[t["dtype"]]
        out[name] = np.frombuffer(raw[8 + n + a:8 + n + b], dtype=dt).reshape(t["shape"])
    return out


def main():
    a, b = load(sys.argv[1]), load(sys.argv[2])
    tol = float(sys.argv[3]) if len(sys.argv) > 3 else 1e-5
    if sorted(a) != sorted(b):
        print("names differ:", sorted(a), sorted(b))
        return 1
    worst = 0.0
    for k in a:
        d = np.abs(a[k].astype(np.float64) - b[k]) / np.maximum(1.0, np.abs(b[k]))
        worst = max(worst, float(d.max()) if d.size else 0.0)
    print("largest relative difference %.3g" % worst)
    return 0 if worst <= tol else 1


if __name__ == "__main__":
    sys.exit(main())
