"""Reads the `SYSTEM NAME VALUE UNIT` lines of bench/train.sh's logs and prints the table of
docs/benchmarks.md: one row per workload, one column per system, mtc against the best other
system measured in the same run, and the issue's goal with whether this run met it.

usage: python3 table.py LOG...
"""
import sys

# name, label, higher is better, the goals: ("best", f) f times the best other system,
# ("jax", f) f times JAX, ("abs", v) at most v (a time)
ROWS = [
    ("mlp", "MLP 784-256-128-10, batch 128, SGD momentum (samples/s)", True, [("best", 1.25)]),
    ("lenet", "LeNet (conv 8, 16 of 5x5, pool, fc 64), batch 64 (samples/s)", True,
     [("best", 1.5)]),
    ("minitorch_epoch", "MiniTorch Module 3 (2-100-100-1, batch 10), epoch of 5 steps (ms)",
     False, [("abs", 0.05), ("jax", 4.0)]),
    ("chain", "fused sigmoid/tanh/exp chain + 2 sums, 4096x4096, in-process (ms)", False,
     [("abs", 20.0), ("jax", 2.0)]),
    ("compile_mlp", "compile time of the MLP step, cold (ms)", False, [("abs", 100.0)]),
    ("compile_mlp_1thread", "  the same on 1 thread (ms)", False, [("abs", 100.0)]),
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
    return f"{x:.3f}" if x < 1 else f"{x:.2f}" if x < 10 else f"{x:.1f}" if x < 1000 else f"{x:.0f}"


def main():
    v = parse(sys.argv[1:])
    systems = {s for s, _ in v}
    modes = sorted(s for s in systems if s.startswith("torch2_compile_"))
    head = ["workload", "PyTorch 1.13 eager", "PyTorch 2.x eager", "torch.compile (best mode)",
            "JAX jit", "mtc", "mtc vs best", "goal"]
    print("| " + " | ".join(head) + " |")
    print("|" + "|".join("---" for _ in head) + "|")
    for name, label, higher, goals in ROWS:
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
        speedup = lambda ref: mtc / ref if higher else ref / mtc  # noqa: E731
        ratio = f"{speedup(pick(others)):.2f}x" if mtc and others else "-"
        texts = []
        for kind, x in goals:
            if kind == "abs":
                text = f"<= {x:g} ms"
                met = mtc is not None and mtc <= x
            else:
                ref = pick(others) if kind == "best" and others else v.get(("jax", name))
                text = f">= {x:g}x {'the best' if kind == 'best' else 'JAX'}"
                met = None if mtc is None or ref is None else speedup(ref) >= x
            texts.append(text + ": " + {True: "met", False: "missed", None: "not measured"}[met])
        print(f"| {label} | " + " | ".join(cells) + f" | {fmt(mtc, higher)} | {ratio} | "
              + "; ".join(texts) + " |")
    print()
    print("mtc vs best: mtc's throughput over the best other's, or the best other's time over "
          "mtc's; above 1 mtc is faster.")


main()
