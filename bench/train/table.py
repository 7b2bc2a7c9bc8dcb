"""Reads the `SYSTEM NAME VALUE UNIT` lines of bench/train.sh's logs and prints the table of
docs/benchmarks.md: one row per workload, one column per system, mtc against the best other
system measured in the same run, and the issue's goal with whether this run met it.

usage: python3 table.py LOG...
"""
import sys

# name, label, higher is better, goal (factor over the best, or an absolute bound), goal text
ROWS = [
    ("mlp", "MLP 784-256-128-10, batch 128, SGD momentum (samples/s)", True, (1.25, None),
     ">= 1.25x the best"),
    ("lenet", "LeNet (conv 8, 16 of 5x5, pool, fc 64), batch 64 (samples/s)", True,
     (1.5, None), ">= 1.5x the best"),
    ("minitorch_epoch", "MiniTorch Module 3 (2-100-100-1, batch 10), epoch of 5 steps (ms)",
     False, (None, 0.05), "<= 0.05 ms"),
    ("chain", "fused sigmoid/tanh/exp chain + 2 sums, 4096x4096, in-process (ms)", False,
     (None, 20.0), "<= 20 ms"),
    ("compile_mlp", "compile time of the MLP step, cold (ms)", False, (None, 100.0), "< 100 ms"),
    ("compile_mlp_1thread", "  the same on 1 thread (ms)", False, (None, 100.0), "< 100 ms"),
]
COLUMNS = ["torch113", "torch2", "compile", "jax"]


def parse(paths):
    v = {}  # (system, name) -> float
    for path in paths:
        try:
            lines = open(path).read().splitlines()
        except OSError:
            continue
        for line in lines:
            f = line.split()
            if len(f) == 4:
                try:
                    v[(f[0], f[1])] = float(f[2])
                except ValueError:
                    pass
    return v


def fmt(x, higher):
    if x is None:
        return "-"
    if higher:
        return f"{x / 1000:.1f}k" if x >= 1000 else f"{x:.0f}"
    return f"{x:.3f}" if x < 1 else f"{x:.1f}" if x < 1000 else f"{x:.0f}"


def main():
    v = parse(sys.argv[1:])
    systems = {s for s, _ in v}
    modes = sorted(s for s in systems if s.startswith("torch2_compile_"))
    head = ["workload", "PyTorch 1.13 eager", "PyTorch 2.x eager", "torch.compile (best mode)",
            "JAX jit", "mtc", "mtc vs best", "goal"]
    print("| " + " | ".join(head) + " |")
    print("|" + "|".join("---" for _ in head) + "|")
    for name, label, higher, (factor, bound), goal in ROWS:
        pick = max if higher else min
        cells, others = [], []
        for col in COLUMNS:
            if col == "compile":
                vals = [(v[(m, name)], m[len("torch2_compile_"):]) for m in modes if (m, name) in v]
                if vals:
                    best = pick(vals, key=lambda t: t[0])
                    cells.append(f"{fmt(best[0], higher)} ({best[1]})")
                    others.append(best[0])
                else:
                    cells.append("-")
                continue
            x = v.get((col, name))
            cells.append(fmt(x, higher))
            if x is not None:
                others.append(x)
        mtc = v.get(("mtc", name))
        ratio, status = "-", "not measured"
        if mtc is not None and others:
            best = pick(others)
            r = mtc / best if higher else best / mtc
            ratio = f"{r:.2f}x"
        if mtc is not None:
            if factor is not None:
                status = "met" if others and r >= factor else "missed" if others else "no reference"
            else:
                status = "met" if mtc <= bound else "missed"
        print(f"| {label} | " + " | ".join(cells) + f" | {fmt(mtc, higher)} | {ratio} | "
              f"{goal}: {status} |")
    print()
    print("mtc vs best: mtc's throughput over the best other's, or the best other's time over "
          "mtc's; above 1 mtc is faster.")


main()
