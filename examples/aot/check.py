#!/usr/bin/env python3
"""check.py - the same libnet.so from Python (the mtc package), checked against `mtc run`.

    python3 check.py MTC [MAIN_OUTPUT]

Loads libnet.so (beside this script's working directory) with mtc.load, feeds it the fixed
pattern main.c uses and a random batch, and compares each result with `mtc run net.mt` on the
reference interpreter. With MAIN_OUTPUT (what ./main printed) the C program's probabilities
are checked too. Needs numpy and the mtc package (`pip install ./python`, or the repository's
python/ directory, which is found from here when it is not installed).
"""
import json
import os
import struct
import subprocess
import sys
import tempfile

import numpy as np

try:
    import mtc
except ImportError:
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "python"))
    import mtc

here = os.path.dirname(os.path.abspath(__file__))


def save(path, tensors):
    header, blobs, offset = {}, [], 0
    for name, a in tensors.items():
        blob = np.ascontiguousarray(a, dtype="<f4").tobytes()
        header[name] = {"dtype": "F32", "shape": list(a.shape), "data_offsets": [offset, offset + len(blob)]}
        blobs.append(blob)
        offset += len(blob)
    text = json.dumps(header).encode()
    text += b" " * (-len(text) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)) + text + b"".join(blobs))


def load(path):
    data = open(path, "rb").read()
    n, = struct.unpack_from("<Q", data)
    out = {}
    for name, h in json.loads(data[8:8 + n]).items():
        if name != "__metadata__":
            b, e = h["data_offsets"]
            out[name] = np.frombuffer(data[8 + n + b:8 + n + e], dtype="<f4").reshape(h["shape"])
    return out


def mtc_run(mtc_bin, x, tmp):
    """`mtc run net.mt` on the interpreter: the weights file plus x in, p out."""
    fed = load(os.path.join(here, "net.safetensors"))
    fed["x"] = x
    save(os.path.join(tmp, "in.safetensors"), fed)
    subprocess.run([mtc_bin, "run", os.path.join(here, "net.mt"), "--in", os.path.join(tmp, "in.safetensors"),
                    "--out", os.path.join(tmp, "out.safetensors"), "--backend", "interp"], check=True)
    return load(os.path.join(tmp, "out.safetensors"))["p"]


def main():
    mtc_bin = sys.argv[1]
    net = mtc.load("./libnet.so")
    print("loaded:", ", ".join(repr(t) for t in net.inputs + net.outputs))
    x_fixed = ((np.arange(32) % 5) * 0.25 - 0.5).astype(np.float32).reshape(4, 8)
    x_random = np.random.default_rng().standard_normal((4, 8)).astype(np.float32)
    bad = 0
    with tempfile.TemporaryDirectory() as tmp:
        for what, x in (("fixed", x_fixed), ("random", x_random)):
            p = net(x)  # one output: the array itself
            want = mtc_run(mtc_bin, x, tmp)
            err = float(np.max(np.abs(p - want)))
            ok = np.allclose(p, want, rtol=1e-5, atol=1e-6)
            print("%s input: .so vs mtc run, max |diff| %.3g: %s" % (what, err, "ok" if ok else "FAIL"))
            bad += not ok
            if what == "fixed" and len(sys.argv) > 2:
                lines = [l.split(":")[1].split("->")[0].split() for l in open(sys.argv[2])]
                c = np.array(lines, dtype=np.float64)
                ok = c.shape == want.shape and np.allclose(c, want, rtol=0, atol=2e-6)
                print("C program's output vs mtc run: %s" % ("ok" if ok else "FAIL"))
                bad += not ok
    sys.exit(1 if bad else 0)


if __name__ == "__main__":
    main()
