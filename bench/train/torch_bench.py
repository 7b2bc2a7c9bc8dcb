"""PyTorch's side of bench/train.sh: the workloads of bench/train.c, eager or torch.compile'd.

usage: python torch_bench.py SYSTEM THREADS SECONDS [MODE]
  SYSTEM   the label printed first on every line (torch113, torch2, torch2_compile_default...)
  MODE     absent: eager; else a torch.compile mode ("default", "max-autotune-no-cudagraphs")
prints `SYSTEM NAME VALUE UNIT` lines, the names of bench/train.c.

The training step is what a PyTorch user writes: zero_grad, forward, loss, backward,
optimizer.step(); under torch.compile that whole function is compiled (the backward pass
through AOTAutograd, the optimizer's update as its own graph). Sizes and optimisers are
common.py's. Linear layers keep PyTorch's [out, in] weights; mtc keeps [in, out]: the same
arithmetic.
"""
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

from common import CHAIN_N, LENET, MINITORCH, MLP, median_time, report

system, threads, seconds = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
mode = sys.argv[4] if len(sys.argv) > 4 else None
torch.set_num_threads(threads)
torch.manual_seed(0)


def compiled(fn):
    return torch.compile(fn, mode=mode) if mode else fn


def mlp_model():
    s = MLP["sizes"]
    return nn.Sequential(nn.Linear(s[0], s[1]), nn.ReLU(), nn.Linear(s[1], s[2]), nn.ReLU(),
                         nn.Linear(s[2], s[3]))


def lenet_model():
    return nn.Sequential(nn.Conv2d(1, 8, 5), nn.ReLU(), nn.MaxPool2d(2), nn.Conv2d(8, 16, 5),
                         nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(), nn.Linear(16 * 4 * 4, 64),
                         nn.ReLU(), nn.Linear(64, LENET["classes"]))


def minitorch_model():
    h = MINITORCH["hidden"]
    return nn.Sequential(nn.Linear(2, h), nn.ReLU(), nn.Linear(h, h), nn.ReLU(), nn.Linear(h, 1))


def make_step(model, loss_fn, lr, momentum):
    opt = torch.optim.SGD(model.parameters(), lr=lr, momentum=momentum)

    def step(x, y):
        opt.zero_grad(set_to_none=True)
        loss = loss_fn(model(x), y)
        loss.backward()
        opt.step()
        return loss

    return compiled(step)


def classify_batch(batch, shape, classes):
    x = torch.rand(batch, *shape)
    y = torch.randint(0, classes, (batch,))
    return x, y


def throughput(name, model, shape, cfg, classes):
    x, y = classify_batch(cfg["batch"], shape, classes)
    step = make_step(model, F.cross_entropy, cfg["lr"], cfg["momentum"])
    t0 = time.perf_counter()
    for _ in range(3):
        step(x, y)
    first3 = time.perf_counter() - t0
    t = median_time(lambda: step(x, y), seconds)
    report(system, name, f"{cfg['batch'] / t:.0f}", "samples/s")
    return first3 - 3 * t


def main():
    compile_s = throughput("mlp", mlp_model(), (MLP["sizes"][0],), MLP, MLP["sizes"][-1])
    if mode:  # the first calls compile: what they took beyond three steps
        report(system, "compile_mlp", f"{compile_s * 1e3:.0f}", "ms")
    throughput("lenet", lenet_model(), (1, LENET["side"], LENET["side"]), LENET,
               LENET["classes"])

    m = MINITORCH
    xs = [torch.rand(m["batch"], 2) for _ in range(m["steps"])]
    ys = [torch.randint(0, 2, (m["batch"], 1)).float() for _ in range(m["steps"])]
    step = make_step(minitorch_model(), F.binary_cross_entropy_with_logits, m["lr"], 0.0)

    def epoch():
        for x, y in zip(xs, ys):
            step(x, y)

    report(system, "minitorch_epoch", f"{median_time(epoch, seconds) * 1e3:.4f}", "ms")

    def chain(x):
        e = torch.exp(torch.tanh(torch.sigmoid(x)))
        return e.sum(dim=1, keepdim=True), e.sum(dim=0, keepdim=True)

    chain = compiled(chain)
    x = torch.rand(CHAIN_N, CHAIN_N) * 2 - 1
    with torch.no_grad():
        report(system, "chain", f"{median_time(lambda: chain(x), seconds) * 1e3:.2f}", "ms")


main()
