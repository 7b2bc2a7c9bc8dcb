#!/usr/bin/env python3
"""ONNX Runtime references for bench/aot.sh: the same two models as torch_ref.py, timed the same
way, with a Python that has onnxruntime and numpy (a venv: bench/aot.sh takes MTC_BENCH_VENV).

usage: onnx_ref.py mlp|lenet THREADS [SECONDS]
prints `us_per_call X` (median batch), `us_per_call_min X` (fastest batch) and `ort VERSION`

The models are written here as ONNX protobuf by hand (a few message types), so neither the
`onnx` package nor an exporter is needed: MatMul/Add/Relu for the MLP; Conv (with bias),
Relu, MaxPool, Reshape, MatMul, Add, LogSoftmax, Mul, ReduceSum, ReduceMean, Neg for LeNet's
forward pass and loss. Opset 13, random weights (the values do not matter for the time).
"""
import sys
import time

import numpy as np
import onnxruntime as ort


# ---- protobuf, the little of it ONNX needs --------------------------------------------------
def varint(n):
    out = b""
    n &= (1 << 64) - 1
    while True:
        b, n = n & 0x7F, n >> 7
        out += bytes([b | (0x80 if n else 0)])
        if not n:
            return out


def field(num, wire, payload):
    return varint(num << 3 | wire) + payload


def f_int(num, v):
    return field(num, 0, varint(v))


def f_bytes(num, b):
    return field(num, 2, varint(len(b)) + b)


def f_str(num, s):
    return f_bytes(num, s.encode())


FLOAT, INT64 = 1, 7


def tensor(name, a):
    a = np.ascontiguousarray(a)
    dt = FLOAT if a.dtype == np.float32 else INT64
    return b"".join(f_int(1, d) for d in a.shape) + f_int(2, dt) + f_str(8, name) + f_bytes(9, a.tobytes())


def value_info(name, shape):
    dims = b"".join(f_bytes(1, f_int(1, d)) for d in shape)
    tensor_type = f_int(1, FLOAT) + f_bytes(2, dims)
    return f_str(1, name) + f_bytes(2, f_bytes(1, tensor_type))


def attr_int(name, v):
    return f_str(1, name) + f_int(3, v) + f_int(20, 2)


def attr_ints(name, vs):
    return f_str(1, name) + b"".join(f_int(8, v) for v in vs) + f_int(20, 7)


def node(op, inputs, outputs, *attrs):
    return (b"".join(f_str(1, i) for i in inputs) + b"".join(f_str(2, o) for o in outputs)
            + f_str(4, op) + b"".join(f_bytes(5, a) for a in attrs))


def model(nodes, inits, inputs, outputs):
    graph = (b"".join(f_bytes(1, n) for n in nodes) + f_str(2, "g")
             + b"".join(f_bytes(5, tensor(k, v)) for k, v in inits.items())
             + b"".join(f_bytes(11, value_info(k, s)) for k, s in inputs)
             + b"".join(f_bytes(12, value_info(k, s)) for k, s in outputs))
    return f_int(1, 7) + f_bytes(7, graph) + f_bytes(8, f_str(1, "") + f_int(2, 13))


# ---- the two models ----------------------------------------------------------------------------
rng = np.random.default_rng(0)


def rand(*shape):
    return rng.random(shape, dtype=np.float32)


which, threads = sys.argv[1], int(sys.argv[2])
seconds = float(sys.argv[3]) if len(sys.argv) > 3 else 2.0
if which == "mlp":
    inits = {"w1": rand(784, 256), "b1": rand(256), "w2": rand(256, 128), "b2": rand(128),
             "w3": rand(128, 10), "b3": rand(10)}
    nodes = [node("MatMul", ["x", "w1"], ["h1"]), node("Add", ["h1", "b1"], ["z1"]),
             node("Relu", ["z1"], ["a1"]), node("MatMul", ["a1", "w2"], ["h2"]),
             node("Add", ["h2", "b2"], ["z2"]), node("Relu", ["z2"], ["a2"]),
             node("MatMul", ["a2", "w3"], ["h3"]), node("Add", ["h3", "b3"], ["y"])]
    proto = model(nodes, inits, [("x", [1, 784])], [("y", [1, 10])])
    feed = {"x": rand(1, 784)}
else:
    inits = {"c1": rand(8, 1, 5, 5), "cb1": rand(8), "c2": rand(16, 8, 5, 5), "cb2": rand(16),
             "w1": rand(256, 64), "b1": rand(64), "w2": rand(64, 10), "b2": rand(10),
             "flat": np.array([64, 256], np.int64), "axis1": np.array([1], np.int64)}
    pool = (attr_ints("kernel_shape", [2, 2]), attr_ints("strides", [2, 2]))
    nodes = [node("Conv", ["x", "c1", "cb1"], ["k1"]), node("Relu", ["k1"], ["r1"]),
             node("MaxPool", ["r1"], ["p1"], *pool),
             node("Conv", ["p1", "c2", "cb2"], ["k2"]), node("Relu", ["k2"], ["r2"]),
             node("MaxPool", ["r2"], ["p2"], *pool), node("Reshape", ["p2", "flat"], ["f"]),
             node("MatMul", ["f", "w1"], ["h"]), node("Add", ["h", "b1"], ["z3"]),
             node("Relu", ["z3"], ["r3"]), node("MatMul", ["r3", "w2"], ["o"]),
             node("Add", ["o", "b2"], ["logits"]),
             node("LogSoftmax", ["logits"], ["logp"], attr_int("axis", 1)),
             node("Mul", ["logp", "y"], ["ly"]),
             node("ReduceSum", ["ly", "axis1"], ["row"], attr_int("keepdims", 0)),
             node("ReduceMean", ["row"], ["mean"], attr_int("keepdims", 0)),
             node("Neg", ["mean"], ["loss"])]
    proto = model(nodes, inits, [("x", [64, 1, 28, 28]), ("y", [64, 10])],
                  [("loss", []), ("logits", [64, 10])])
    feed = {"x": rand(64, 1, 28, 28), "y": np.eye(10, dtype=np.float32)[rng.integers(0, 10, 64)]}

opts = ort.SessionOptions()
opts.intra_op_num_threads = threads
opts.inter_op_num_threads = 1
opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
session = ort.InferenceSession(proto, opts, providers=["CPUExecutionProvider"])


def call():
    return session.run(None, feed)


for _ in range(100):
    call()
t0, reps = time.perf_counter(), 0
while time.perf_counter() - t0 < 0.05:
    call()
    reps += 1
per = reps // 5 + 1
times, start = [], time.perf_counter()
while time.perf_counter() - start < seconds or len(times) < 5:
    a = time.perf_counter()
    for _ in range(per):
        call()
    times.append((time.perf_counter() - a) / per)
times.sort()
print("us_per_call %.3f" % (times[len(times) // 2] * 1e6))
print("us_per_call_min %.3f" % (times[0] * 1e6))
print("ort %s" % ort.__version__)
