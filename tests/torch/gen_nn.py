#!/usr/bin/python3
"""gen_nn.py - PyTorch references for the nn layers and losses of frontend/nn.c.

Run with Debian's python3 (it has python3-torch):

    /usr/bin/python3 tests/torch/gen_nn.py

For every case it writes tests/torch/nn/<case>.safetensors holding, in this order:
  x (and y for losses)         the inputs
  weight, bias                 a layer's params in mtc's layout (Linear's weight is [in, out],
                               the transpose of torch's; conv weights are torch's [O, C, K...])
  r                            layers only: the weights of the scalar loss sum(out * r)
  out                          the layer's output (losses: the loss itself, rank 0)
  grad.x, grad.weight, ...     the gradient of that scalar by torch autograd
tests/unit/test_nn.c builds the same layer with the C API, loads the params, traces it, takes
mt_pass_grad of the same scalar and runs both through the interpreter. CASES below and the
table in test_nn.c must name the same cases with the same settings.

Deterministic: inputs and params come from numpy's PCG64 seeded with the CRC-32 of the case
name, PyTorch runs on one thread, and the files are encoded here byte by byte (header keys in
insertion order, padded with spaces to 8 bytes; see gen_parity.py), so a re-run rewrites
identical files.
"""
import json
import os
import struct
import zlib

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

HERE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "nn")
NP = {"f32": "<f4", "f64": "<f8"}
ST = {"f32": "F32", "f64": "F64"}
TORCH = {"f32": torch.float32, "f64": torch.float64}


def safetensors_bytes(tensors, dtype):
    header, blobs, off = {}, [], 0
    for name, a in tensors:
        raw = np.ascontiguousarray(a, dtype=NP[dtype]).tobytes()
        header[name] = {"dtype": ST[dtype], "shape": list(a.shape),
                        "data_offsets": [off, off + len(raw)]}
        blobs.append(raw)
        off += len(raw)
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * (-len(h) % 8)
    return struct.pack("<Q", len(h)) + h + b"".join(blobs)


def away_from_zero(rng, shape, lo=0.1, hi=2.0):
    """Values with |v| in [lo, hi) and a random sign: no relu kink, no max tie near 0."""
    return rng.uniform(lo, hi, shape) * rng.choice([-1.0, 1.0], shape)


def one_hot(rng, b, c):
    return np.eye(c)[rng.integers(0, c, b)]


# name -> (dtype, x shape, module maker).
# The module maker returns a torch module; Linear's weight is transposed on the way out.
LAYERS = {
    "linear": ("f64", (3, 4), lambda: nn.Linear(4, 5)),
    "linear_batched": ("f64", (2, 3, 4), lambda: nn.Linear(4, 2)),
    "linear_nobias": ("f64", (3, 4), lambda: nn.Linear(4, 2, bias=False)),
    "linear_f32": ("f32", (5, 6), lambda: nn.Linear(6, 3)),
    "conv1d": ("f64", (2, 3, 9), lambda: nn.Conv1d(3, 4, 3, stride=2, padding=1)),
    "conv1d_nobias": ("f64", (1, 2, 7), lambda: nn.Conv1d(2, 3, 4, bias=False)),
    "conv2d": ("f64", (2, 3, 7, 6),
               lambda: nn.Conv2d(3, 4, (3, 2), stride=(2, 1), padding=(1, 0))),
    "conv2d_lenet": ("f64", (2, 1, 9, 9), lambda: nn.Conv2d(1, 2, 5)),
    "conv2d_f32": ("f32", (1, 2, 6, 6), lambda: nn.Conv2d(2, 3, 3, padding=1)),
    "relu": ("f64", (3, 5), nn.ReLU),
    "sigmoid": ("f64", (3, 5), nn.Sigmoid),
    "tanh": ("f64", (3, 5), nn.Tanh),
    "softmax": ("f64", (3, 5), lambda: nn.Softmax(dim=1)),
    "softmax_last": ("f64", (2, 3, 4), lambda: nn.Softmax(dim=-1)),
    "logsoftmax": ("f64", (3, 5), lambda: nn.LogSoftmax(dim=1)),
    "logsoftmax_first": ("f64", (4, 3), lambda: nn.LogSoftmax(dim=0)),
    "flatten": ("f64", (2, 3, 2, 2), nn.Flatten),
    "avgpool2d": ("f64", (2, 3, 5, 4), lambda: nn.AvgPool2d(2)),
    "maxpool2d": ("f64", (2, 2, 6, 7), lambda: nn.MaxPool2d((2, 3))),
}

# name -> (dtype, loss function on (x, y), x maker, y maker), x and y of shape [4, 5] or [6, 1].
LOSSES = {
    "cross_entropy": ("f64", lambda x, y: F.cross_entropy(x, y),
                      lambda r: r.uniform(-3, 3, (4, 5)), lambda r: one_hot(r, 4, 5)),
    "nll": ("f64", lambda x, y: -(x * y).sum(1).mean(),
            lambda r: -r.uniform(0.1, 4, (4, 5)), lambda r: one_hot(r, 4, 5)),
    "bce": ("f64", F.binary_cross_entropy,
            lambda r: r.uniform(0.05, 0.95, (6, 1)), lambda r: r.integers(0, 2, (6, 1)) * 1.0),
    "bce_logits": ("f64", F.binary_cross_entropy_with_logits,
                   lambda r: r.uniform(-4, 4, (6, 1)), lambda r: r.integers(0, 2, (6, 1)) * 1.0),
    "mse": ("f64", F.mse_loss, lambda r: r.uniform(-2, 2, (4, 5)),
            lambda r: r.uniform(-2, 2, (4, 5))),
    "cross_entropy_f32": ("f32", lambda x, y: F.cross_entropy(x, y),
                          lambda r: r.uniform(-3, 3, (8, 3)), lambda r: one_hot(r, 8, 3)),
}


def rng_for(name):
    return np.random.default_rng(zlib.crc32(name.encode()))


def layer_case(name, dtype, xshape, make):
    rng = rng_for(name)
    td = TORCH[dtype]
    m = make().to(td)
    params = []
    with torch.no_grad():
        for pname, p in m.named_parameters():
            p.copy_(torch.tensor(rng.uniform(-0.6, 0.6, tuple(p.shape))))
    x = torch.tensor(away_from_zero(rng, xshape), dtype=td, requires_grad=True)
    out = m(x)
    r = torch.tensor(rng.uniform(-1, 1, tuple(out.shape)), dtype=td)
    (out * r).sum().backward()
    for pname, p in m.named_parameters():
        w = p.detach().numpy()
        g = p.grad.numpy()
        if isinstance(m, nn.Linear) and pname == "weight":  # torch [out, in] -> mtc [in, out]
            w, g = w.T, g.T
        params.append((pname, w, g))
    tensors = [("x", x.detach().numpy())]
    tensors += [(p, w) for p, w, _ in params]
    tensors += [("r", r.numpy()), ("out", out.detach().numpy()), ("grad.x", x.grad.numpy())]
    tensors += [("grad." + p, g) for p, _, g in params]
    return tensors


def loss_case(name, dtype, fn, xmake, ymake):
    rng = rng_for(name)
    td = TORCH[dtype]
    x = torch.tensor(xmake(rng), dtype=td, requires_grad=True)
    y = torch.tensor(ymake(rng), dtype=td)
    out = fn(x, y)
    out.backward()
    return [("x", x.detach().numpy()), ("y", y.numpy()), ("out", out.detach().numpy()),
            ("grad.x", x.grad.numpy())]


def main():
    os.makedirs(HERE, exist_ok=True)
    for old in os.listdir(HERE):
        if old.endswith(".safetensors"):
            os.remove(os.path.join(HERE, old))
    torch.set_num_threads(1)  # one summation order, whatever the machine
    total = 0
    for name, (dtype, xshape, make) in LAYERS.items():
        data = safetensors_bytes(layer_case(name, dtype, xshape, make), dtype)
        with open(os.path.join(HERE, name + ".safetensors"), "wb") as f:
            f.write(data)
        total += len(data)
    for name, (dtype, fn, xmake, ymake) in LOSSES.items():
        data = safetensors_bytes(loss_case(name, dtype, fn, xmake, ymake), dtype)
        with open(os.path.join(HERE, name + ".safetensors"), "wb") as f:
            f.write(data)
        total += len(data)
    print("wrote %d cases (%d bytes) under %s" % (len(LAYERS) + len(LOSSES), total,
                                                  os.path.relpath(HERE)))


if __name__ == "__main__":
    main()
