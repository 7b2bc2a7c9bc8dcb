#!/usr/bin/env python3
"""Tests of the mtc Python package against `mtc run`, on .so files compiled by the build's mtc.

usage: test_mtc.py MTC SOURCE_DIR     (exit 77: numpy is missing, the test is skipped)

Compiles examples/xor.mt (an inference graph) and the Adam step of tests/torch/optim/mlp.mt,
loads both with mtc.load, and checks: outputs equal `mtc run`'s on the same inputs; a step
.so follows `mtc run` of the same step graph for 5 steps (OUT feeding the next IN); shapes,
dtypes, counts and names are checked with MtcError messages; get/set round-trip.
"""
import json
import os
import struct
import subprocess
import sys
import tempfile

try:
    import numpy as np
except ImportError:
    print("numpy is missing: skipped")
    sys.exit(77)

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import mtc  # noqa: E402

MTC, SRC = sys.argv[1], sys.argv[2]
failures = []


def check(cond, what):
    if not cond:
        failures.append(what)
        print("FAIL:", what)


def save(path, tensors):
    header, blobs, offset = {}, [], 0
    for name, a in tensors.items():
        a = np.asarray(a)
        blob = a.tobytes(order="C")
        header[name] = {"dtype": {"float32": "F32", "float64": "F64"}[str(a.dtype)],
                        "shape": list(a.shape), "data_offsets": [offset, offset + len(blob)]}
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
        if name == "__metadata__":
            continue
        dt = {"F32": np.float32, "F64": np.float64}[h["dtype"]]
        b, e = h["data_offsets"]
        out[name] = np.frombuffer(data[8 + n + b:8 + n + e], dtype=dt).reshape(h["shape"])
    return out


def run(*args):
    subprocess.run([MTC] + list(args), check=True)


def expect_error(fn, text, what):
    try:
        fn()
    except mtc.MtcError as e:
        check(text in str(e), "%s: message %r lacks %r" % (what, str(e), text))
        return
    check(False, "%s: no MtcError" % what)


def test_inference(tmp):
    so = os.path.join(tmp, "libxor.so")
    weights = os.path.join(SRC, "examples", "xor.in.safetensors")
    run("compile", os.path.join(SRC, "examples", "xor.mt"), "-o", so, "--weights", weights)
    net = mtc.load(so)
    check(isinstance(net, mtc.Model), "xor loads as a Model")
    check([t.name for t in net.inputs] == ["x", "y"], "input names")
    check([(t.name, t.shape) for t in net.outputs] == [("loss", ()), ("p", (16, 1))], "outputs")
    rng = np.random.default_rng(int.from_bytes(os.urandom(4), "little"))
    fed = load(weights)
    x = rng.random((16, 2), dtype=np.float32)
    y = (rng.random((16, 1)) > 0.5).astype(np.float32)
    fed.update(x=x, y=y)
    save(os.path.join(tmp, "in.safetensors"), fed)
    run("run", os.path.join(SRC, "examples", "xor.mt"), "--in", os.path.join(tmp, "in.safetensors"),
        "--out", os.path.join(tmp, "out.safetensors"), "--backend", "interp")
    want = load(os.path.join(tmp, "out.safetensors"))
    loss, p = net(x, y)
    check(np.allclose(loss, want["loss"], rtol=1e-5, atol=1e-6), "loss as mtc run's")
    check(np.allclose(p, want["p"], rtol=1e-5, atol=1e-6), "p as mtc run's")
    loss2, _ = net(y=y, x=x)
    check(loss2 == loss, "inputs by name")
    expect_error(lambda: net(x.astype(np.float64), y), "input %x is f32[16,2], got a float64", "dtype")
    expect_error(lambda: net(x[:8], y), "got a float32 array of shape (8, 2)", "shape")
    expect_error(lambda: net(x), "xor takes 2 inputs (x, y), got 1", "count")
    expect_error(lambda: net(x, z=y), "no value for input %y", "names")
    expect_error(lambda: mtc.load(os.path.join(tmp, "nope.so")), "no such file", "missing file")
    expect_error(lambda: mtc.load(weights), "not a 64-bit little-endian ELF", "not a .so")


def test_step(tmp):
    step_mt = os.path.join(tmp, "step.mt")
    run("step", os.path.join(SRC, "tests", "torch", "optim", "mlp.mt"), "--optimizer", "adam",
        "--lr", "0.01", "-o", step_mt)
    data = load(os.path.join(SRC, "tests", "torch", "optim", "data.safetensors"))
    params = {k: data[k] for k in ("w1", "b1", "w2", "b2")}
    save(os.path.join(tmp, "w.safetensors"), params)
    so = os.path.join(tmp, "libmlp.so")
    run("compile", step_mt, "-o", so, "--weights", os.path.join(tmp, "w.safetensors"))
    train = mtc.load(so)
    check(isinstance(train, mtc.StepModel), "the step graph loads as a StepModel")
    check("adam.t" in [t.name for t in train.states], "states listed")
    state = dict(params)
    for i in range(5):
        fed = dict(state, x=data["x.%d" % i], y=data["y.%d" % i])
        path_in, path_out = os.path.join(tmp, "s%d.in" % i), os.path.join(tmp, "s%d.out" % i)
        save(path_in, fed)
        run("run", step_mt, "--in", path_in, "--out", path_out)
        state = load(path_out)
        loss, logits = train.step(data["x.%d" % i], data["y.%d" % i])
        check(np.allclose(loss, state["loss"], rtol=1e-5, atol=1e-6), "step %d loss" % i)
        check(np.allclose(logits, state["logits"], rtol=1e-5, atol=1e-5), "step %d logits" % i)
        for name in ("w1", "b2", "adam.m.w2", "adam.v.b1", "adam.t"):
            check(np.allclose(train.get(name), state[name], rtol=1e-5, atol=1e-7),
                  "step %d %s" % (i, name))
    w1 = train.get("w1")
    train.set("w1", w1 * 2)
    check(np.array_equal(train.get("w1"), w1 * 2), "set then get")
    expect_error(lambda: train.get("nope"), "has no param or state %nope", "unknown name")
    expect_error(lambda: train.set("b1", np.zeros(4, np.float32)), "param %b1 is f32[5]", "set shape")
    train.reset()
    check(np.array_equal(train.get("w1"), params["w1"]), "reset: the baked values")
    check(train.get("adam.t") == 0, "reset: the state at zero")


with tempfile.TemporaryDirectory() as tmp:
    test_inference(tmp)
    test_step(tmp)
print("python: %d failures" % len(failures))
sys.exit(1 if failures else 0)
