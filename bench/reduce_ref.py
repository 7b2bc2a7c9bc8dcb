"""reduce_ref.py - numpy and PyTorch on bench/reduce.c's sums: x.sum(dim) of a 4096x4096 f32.

Prints `reduce_ref LIB sum_dimD_Tt MS ms GBPS GB/s` rows in bench/reduce.c's format: the best
of REPS calls (argv[1], default 10) after one warm-up. numpy uses one thread; torch runs with
1 thread and with THREADS (argv[2], default 2). Run with Debian's /usr/bin/python3.
"""
import sys
import time

import numpy as np

N = 4096
REPS = int(sys.argv[1]) if len(sys.argv) > 1 else 10
THREADS = int(sys.argv[2]) if len(sys.argv) > 2 else 2


def best(fn):
    fn()
    times = []
    for _ in range(REPS):
        t0 = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t0) * 1e3)
    return min(times)


def row(lib, name, ms):
    print(f"reduce_ref {lib} {name} {ms:.3f} ms {N * N * 4 / ms * 1e-6:.2f} GB/s")


x = np.random.default_rng(1).random((N, N), dtype=np.float32)
for dim in (0, 1):
    row("numpy", f"sum_dim{dim}_1t", best(lambda: x.sum(axis=dim)))
try:
    import torch
except ImportError:
    sys.exit(0)
t = torch.from_numpy(x)
for threads in sorted({1, THREADS}):
    torch.set_num_threads(threads)
    for dim in (0, 1):
        row("torch", f"sum_dim{dim}_{threads}t", best(lambda: t.sum(dim=dim)))
