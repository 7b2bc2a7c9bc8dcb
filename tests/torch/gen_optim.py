#!/usr/bin/python3
"""gen_optim.py - references for `mtc step`: torch.optim on the model of optim/mlp.mt.

Run with Debian's python3 (it has python3-torch):

    /usr/bin/python3 tests/torch/gen_optim.py

Writes, under tests/torch/optim/:
  data.safetensors        the initial params (w1, b1, w2, b2) and 20 batches (x.S, y.S)
  <config>.safetensors    for each optimiser setting below: the loss of every step (loss.S,
                          computed before that step's update, as the step graph's output is)
                          and the params after 20 steps
tests/unit/test_optim.c builds the step graph with the same settings, runs it 20 times feeding
each step's updates to the next, and compares. The model is the MTIR of optim/mlp.mt written
in PyTorch; keep the two in step. Deterministic: numpy's PCG64 with a fixed seed, safetensors
written byte by byte (see gen_parity.py).
"""
import json
import os
import struct

import numpy as np
import torch

HERE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "optim")
STEPS = 20

# name -> (torch.optim class, its keyword arguments); the C test spells the same settings.
CONFIGS = {
    "sgd": (torch.optim.SGD, {"lr": 0.1}),
    "sgd_momentum": (torch.optim.SGD, {"lr": 0.05, "momentum": 0.9, "weight_decay": 0.01}),
    "adam": (torch.optim.Adam, {"lr": 0.01}),
    "adam_decay": (torch.optim.Adam, {"lr": 0.02, "betas": (0.8, 0.99), "eps": 1e-6,
                                      "weight_decay": 0.05}),
}


def safetensors_bytes(tensors):
    header, blobs, off = {}, [], 0
    for name, a in tensors:
        raw = np.ascontiguousarray(a, dtype="<f4").tobytes()
        header[name] = {"dtype": "F32", "shape": list(a.shape), "data_offsets": [off, off + len(raw)]}
        blobs.append(raw)
        off += len(raw)
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * (-len(h) % 8)
    return struct.pack("<Q", len(h)) + h + b"".join(blobs)


def loss_of(p, x, y):
    z = torch.relu(x @ p["w1"] + p["b1"])
    logits = z @ p["w2"] + p["b2"]
    s = logits - logits.max(dim=1, keepdim=True).values
    logp = s - torch.log(torch.exp(s).sum(dim=1, keepdim=True))
    return -(logp * y).sum(dim=1).mean()


def main():
    rng = np.random.Generator(np.random.PCG64(20261203))
    init = {
        "w1": rng.uniform(-0.5, 0.5, (4, 5)), "b1": rng.uniform(-0.1, 0.1, (5,)),
        "w2": rng.uniform(-0.5, 0.5, (5, 3)), "b2": rng.uniform(-0.1, 0.1, (3,)),
    }
    init = {k: v.astype(np.float32) for k, v in init.items()}
    batches = []
    for _ in range(STEPS):
        x = rng.uniform(-2, 2, (8, 4)).astype(np.float32)
        y = np.eye(3, dtype=np.float32)[rng.integers(0, 3, 8)]
        batches.append((x, y))
    data = list(init.items())
    for s, (x, y) in enumerate(batches):
        data += [("x.%d" % s, x), ("y.%d" % s, y)]
    with open(os.path.join(HERE, "data.safetensors"), "wb") as f:
        f.write(safetensors_bytes(data))
    for name, (cls, kw) in CONFIGS.items():
        p = {k: torch.tensor(v, requires_grad=True) for k, v in init.items()}
        opt = cls([p["w1"], p["b1"], p["w2"], p["b2"]], **kw)
        out = []
        for s, (x, y) in enumerate(batches):
            opt.zero_grad()
            loss = loss_of(p, torch.tensor(x), torch.tensor(y))
            loss.backward()
            opt.step()
            out.append(("loss.%d" % s, loss.detach().numpy().reshape(())))
        out += [(k, v.detach().numpy()) for k, v in p.items()]
        with open(os.path.join(HERE, name + ".safetensors"), "wb") as f:
            f.write(safetensors_bytes(out))
        print("wrote", name, "final loss", float(out[STEPS - 1][1]))


if __name__ == "__main__":
    main()
