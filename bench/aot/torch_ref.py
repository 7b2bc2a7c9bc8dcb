#!/usr/bin/env python3
"""PyTorch eager references for bench/aot.sh: the same two models, timed the same way.

usage: torch_ref.py mlp|lenet THREADS [SECONDS]   prints `us_per_call X` (median batch) and `us_per_call_min X`
"""
import sys
import time

import torch
import torch.nn.functional as F

model, threads = sys.argv[1], int(sys.argv[2])
seconds = float(sys.argv[3]) if len(sys.argv) > 3 else 2.0
torch.set_num_threads(threads)
torch.manual_seed(0)

if model == "mlp":
    w1, b1 = torch.rand(784, 256), torch.rand(256)
    w2, b2 = torch.rand(256, 128), torch.rand(128)
    w3, b3 = torch.rand(128, 10), torch.rand(10)
    x = torch.rand(1, 784)

    def call():
        a1 = torch.relu(x @ w1 + b1)
        a2 = torch.relu(a1 @ w2 + b2)
        return a2 @ w3 + b3
else:
    c1, cb1 = torch.rand(8, 1, 5, 5), torch.rand(8)
    c2, cb2 = torch.rand(16, 8, 5, 5), torch.rand(16)
    w1, b1 = torch.rand(256, 64), torch.rand(64)
    w2, b2 = torch.rand(64, 10), torch.rand(10)
    x = torch.rand(64, 1, 28, 28)
    y = F.one_hot(torch.randint(0, 10, (64,)), 10).float()

    def call():
        p1 = F.max_pool2d(torch.relu(F.conv2d(x, c1, cb1)), 2)
        p2 = F.max_pool2d(torch.relu(F.conv2d(p1, c2, cb2)), 2)
        h = torch.relu(p2.reshape(64, 256) @ w1 + b1)
        logits = h @ w2 + b2
        loss = -(F.log_softmax(logits, 1) * y).sum(1).mean()
        return loss, logits

with torch.no_grad():
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
print("us_per_call_min %.3f" % (times[0] * 1e6))  # the fastest batch, as call.c's
