"""conv_torch.py - PyTorch eager on bench/conv.c's shapes: relu(conv2d(x, w, b)), f32.

Prints one line per shape, `torch NAME SAMPLES_PER_S MS`: batch / best time of 3 rounds of
back-to-back calls under torch.no_grad(), with torch.set_num_threads(THREADS) (argv[1], default
2). bench/run.sh runs it with Debian's /usr/bin/python3 (torch 1.13) and divides.
"""
import sys
import time

import torch

# name, N, C, H, W, O, K, stride, padding: the same as bench/conv.c's table.
SHAPES = [
    ("lenet1", 64, 1, 28, 28, 8, 5, 1, 0),
    ("lenet2", 64, 8, 12, 12, 16, 5, 1, 0),
    ("mid3x3", 16, 32, 32, 32, 64, 3, 1, 1),
    ("stride2", 32, 16, 28, 28, 32, 3, 2, 1),
]


def main():
    threads = int(sys.argv[1]) if len(sys.argv) > 1 else 2
    torch.set_num_threads(threads)
    torch.manual_seed(0)
    for name, n, c, h, w, o, k, s, p in SHAPES:
        x = torch.rand(n, c, h, w) * 2 - 1
        wt = torch.rand(o, c, k, k) * 2 - 1
        b = torch.rand(o) * 2 - 1
        oh = (h + 2 * p - k) // s + 1
        ow = (w + 2 * p - k) // s + 1
        macs = n * o * oh * ow * c * k * k
        reps = int(min(50, max(3, 2e8 / macs)))
        best = 1e30
        with torch.no_grad():
            for _ in range(3):
                for r in range(-1, reps):
                    t = time.perf_counter()
                    torch.relu(torch.nn.functional.conv2d(x, wt, b, stride=s, padding=p))
                    t = time.perf_counter() - t
                    if r >= 0:
                        best = min(best, t)
        print(f"torch {name} {n / best:.0f} {best * 1e3:.3f}", flush=True)


if __name__ == "__main__":
    main()
