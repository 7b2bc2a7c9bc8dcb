"""chain_ref.py - NumPy and PyTorch eager on bench/chain.c's workload.

y = exp(tanh(sigmoid(x))) over x: f32[4096, 4096], then its row sums and row maxima. Prints
`chain_ms numpy MS` and `chain_ms torch MS`: the best of REPS runs (argv[2], default 5) of the
whole chain, with torch.set_num_threads(THREADS) (argv[1], default 2). numpy has no sigmoid:
1 / (1 + exp(-x)), as a user would write it. bench/chain.c runs this with Debian's
/usr/bin/python3 in the same run and prints the lot.
"""
import sys
import time

import numpy as np

N = 4096


def best_of(reps, fn):
    best = 1e30
    for r in range(-1, reps):
        t = time.perf_counter()
        fn()
        t = time.perf_counter() - t
        if r >= 0:
            best = min(best, t)
    return best * 1e3


def main():
    threads = int(sys.argv[1]) if len(sys.argv) > 1 else 2
    reps = int(sys.argv[2]) if len(sys.argv) > 2 else 5
    rng = np.random.default_rng(0)
    x = rng.uniform(-4, 4, size=(N, N)).astype(np.float32)

    def numpy_chain():
        y = np.exp(np.tanh(1 / (1 + np.exp(-x))))
        return y.sum(axis=1), y.max(axis=1)

    print(f"chain_ms numpy {best_of(reps, numpy_chain):.2f}", flush=True)
    try:
        import torch
    except ImportError:
        print("chain_ms torch skipped (no torch)", flush=True)
        return
    torch.set_num_threads(threads)
    xt = torch.from_numpy(x)

    def torch_chain():
        with torch.no_grad():
            y = torch.exp(torch.tanh(torch.sigmoid(xt)))
            return y.sum(dim=1), y.amax(dim=1)

    print(f"chain_ms torch {best_of(reps, torch_chain):.2f}", flush=True)


if __name__ == "__main__":
    main()
