"""Shared by the PyTorch and JAX sides of bench/train.sh: the workloads' sizes and the timer.

Every figure is a median over repeated timings lasting about SECONDS in all, after warm-up, as
bench/train.c measures mtc: the machine is shared, and a median keeps one disturbed step from
moving a figure.
"""
import statistics
import time

MLP = dict(batch=128, sizes=(784, 256, 128, 10), lr=0.01, momentum=0.9)
LENET = dict(batch=64, side=28, classes=10, lr=0.01, momentum=0.9)
MINITORCH = dict(batch=10, hidden=100, steps=5, lr=0.05)
CHAIN_N = 4096


def median_time(fn, seconds, warm=3, min_samples=5):
    """Median wall time of fn() in seconds; fn must block until its work is done."""
    for _ in range(warm):
        fn()
    times = []
    start = time.perf_counter()
    while len(times) < min_samples or time.perf_counter() - start < seconds:
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def report(system, name, value, unit):
    print(f"{system} {name} {value} {unit}", flush=True)
