#!/usr/bin/python3
"""gen_parity.py - writes the PyTorch parity fixtures that tests/unit/test_torch_parity.c checks.

Run with Debian's python3 (it has python3-torch):

    /usr/bin/python3 tests/torch/gen_parity.py

For every case it writes, under tests/torch/cases/:
  <case>.mt               a tiny MTIR graph (SPEC section 1)
  <case>.in.safetensors   its inputs and params, drawn from a generator seeded by the case name
  <case>.out.safetensors  every output, computed by PyTorch in the graph's dtype
Gradient cases (grad_<name>) write <case>.grad.safetensors instead of .out: the forward outputs
followed by grad.NAME for every param in declaration order, computed by torch autograd; the
first output is the scalar loss (what `mtc grad` differentiates).

Each MTIR op is evaluated by one entry of TORCH_OPS below, the single place where the MTIR
semantics (SPEC section 2) are mapped onto PyTorch. The same op list is evaluated in f32 and
in f64, and every case must be well conditioned: the f32 result must agree with the f64 one to
a tenth of the tolerance that the C test applies (see check_conditioning). That is what lets
the C test use a plain relative bound, and what keeps the fixtures valid for any backend that
computes in a different order. A case that fails the check stops the script: change its data.

The output is deterministic: inputs come from numpy's PCG64 seeded with the CRC-32 of the case
name, and the safetensors files are written byte by byte here (header keys in insertion order,
header padded with spaces to 8 bytes), so a re-run rewrites identical files.
"""
import json
import math
import os
import struct
import sys
import zlib

import numpy as np
import torch
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
CASES = os.path.join(HERE, "cases")

# The bounds of tests/unit/test_torch_parity.c; keep the two in step. err <= RTOL * max(|want|,
# floor): forward cases use the smallest normal number as the floor (a pure relative bound);
# gradient cases use GRAD_FLOOR times the largest |value| of the tensor, because a gradient
# element is a sum of mixed-sign products whose rounding error scales with the tensor's
# magnitude, not with the element's own (which may be near zero after cancellation).
RTOL = {"f32": 1e-5, "f64": 1e-12}
GRAD_RTOL = {"f32": 1e-4, "f64": 1e-10}
GRAD_FLOOR = 1e-2
# How much tighter than the C bound torch's own f32 result must agree with f64.
CHECK_MARGIN = 10.0

TORCH_DTYPE = {"f32": torch.float32, "f64": torch.float64}
NP_DTYPE = {"f32": "<f4", "f64": "<f8"}
ST_DTYPE = {"f32": "F32", "f64": "F64"}


# ---- the MTIR op -> PyTorch table ----------------------------------------------------------


def mt_pad(x, pads):
    # MTIR lists (before, after) from the first axis; F.pad lists them from the last axis.
    p = []
    for ax in reversed(range(x.dim())):
        p += [pads[2 * ax], pads[2 * ax + 1]]
    return F.pad(x, p)


def mt_slice(x, start, end):
    return x[tuple(slice(s, e) for s, e in zip(start, end))]


def mt_reduce(fn_all, fn_dim):
    # With dim= the axis is kept as size 1 (MiniTorch); without it the result is rank 0.
    def f(x, dim=None):
        return fn_all(x) if dim is None else fn_dim(x, dim)

    return f


def cmp(fn):
    # Comparisons give 1.0/0.0 in the operands' float dtype.
    return lambda a, b: fn(a, b).to(a.dtype)


def const(value, shape, dtype):
    return torch.full(shape, value, dtype=dtype)


TORCH_OPS = {
    "neg": torch.neg,
    "exp": torch.exp,
    "log": torch.log,
    "relu": torch.relu,
    "sigmoid": torch.sigmoid,
    "inv": torch.reciprocal,
    "tanh": torch.tanh,
    "sqrt": torch.sqrt,
    "abs": torch.abs,
    "add": torch.add,
    "sub": torch.sub,
    "mul": torch.mul,
    "div": torch.div,
    "maximum": torch.maximum,
    "minimum": torch.minimum,
    "pow": torch.pow,
    "lt": cmp(torch.lt),
    "gt": cmp(torch.gt),
    "eq": cmp(torch.eq),
    "where": lambda c, a, b: torch.where(c != 0, a, b),
    "sum": mt_reduce(torch.sum, lambda x, d: torch.sum(x, d, keepdim=True)),
    "max": mt_reduce(torch.amax, lambda x, d: torch.amax(x, d, keepdim=True)),
    "mean": mt_reduce(torch.mean, lambda x, d: torch.mean(x, d, keepdim=True)),
    "reshape": lambda x, shape: x.reshape(shape),
    "permute": lambda x, perm: x.permute(perm),
    "expand": lambda x, shape: x.expand(shape),
    "slice": mt_slice,
    "pad": mt_pad,
    "concat": lambda *xs, dim: torch.cat(xs, dim),
    "matmul": torch.matmul,
    "conv1d": lambda x, w, stride=1, padding=0: F.conv1d(x, w, stride=stride, padding=padding),
    "conv2d": lambda x, w, stride=1, padding=0: F.conv2d(x, w, stride=stride, padding=padding),
    "avgpool2d": lambda x, kernel: F.avg_pool2d(x, kernel, stride=kernel),
    "maxpool2d": lambda x, kernel: F.max_pool2d(x, kernel, stride=kernel),
    "const": None,  # needs the declared type; handled in evaluate
}

# Every op of ir/ops.def but input, param and rand (rand has no PyTorch counterpart).
SPEC_OPS = list(TORCH_OPS)


# ---- graphs --------------------------------------------------------------------------------


class Graph:
    """An MTIR graph being written, with the data of its leaves."""

    def __init__(self, name, dtype, note):
        assert name.isidentifier()
        self.name, self.dtype, self.note = name, dtype, note
        self.leaves = []  # (kind, name, numpy array)
        self.nodes = []  # (name, op, operand names, attrs, const shape or None)
        self.outputs = []
        self.names = set()

    def _fresh(self, name):
        assert name not in self.names, name
        self.names.add(name)
        return name

    def input(self, name, data):
        self.leaves.append(("input", self._fresh(name), np.asarray(data, np.float64)))
        return name

    def param(self, name, data):
        self.leaves.append(("param", self._fresh(name), np.asarray(data, np.float64)))
        return name

    def op(self, name, op, operands, out_shape=None, **attrs):
        assert op in TORCH_OPS, op
        if isinstance(operands, str):
            operands = [operands]
        self.nodes.append((self._fresh(name), op, list(operands), attrs, out_shape))
        return name

    def output(self, *names):
        self.outputs = list(names)


def evaluate(g, dtype, requires_grad=False):
    """Runs g in PyTorch at `dtype`; returns (values by name, param tensors)."""
    tdt = TORCH_DTYPE[dtype]
    env, params = {}, []
    for kind, name, data in g.leaves:
        # Leaves are stored in the graph's dtype; f64 runs of f32 graphs see the same values.
        t = torch.from_numpy(data.astype(NP_DTYPE[g.dtype]).astype(NP_DTYPE[dtype]))
        if kind == "param" and requires_grad:
            t.requires_grad_(True)
            params.append((name, t))
        env[name] = t
    for name, op, operands, attrs, shape in g.nodes:
        if op == "const":
            env[name] = const(attrs["value"], shape, tdt)
        else:
            env[name] = TORCH_OPS[op](*[env[o] for o in operands], **attrs)
        assert env[name].dtype == tdt, (g.name, name)
    return env, params


# ---- writing -------------------------------------------------------------------------------


def type_str(dtype, shape):
    return "%s[%s]" % (dtype, ",".join(str(d) for d in shape))


def attr_str(v):
    if isinstance(v, (list, tuple)):
        return "[" + ",".join(str(int(x)) for x in v) + "]"
    if isinstance(v, float):
        return repr(v)  # 0.5, 1e-05, inf, -inf, nan: all MTIR float spellings
    return str(int(v))


def mtir_text(g, env):
    lines = ["# generated by tests/torch/gen_parity.py; do not edit", "# " + g.note, "mtir 1",
             "graph %s {" % g.name]
    for kind, name, data in g.leaves:
        lines.append("  %s %%%s : %s" % (kind, name, type_str(g.dtype, data.shape)))
    for name, op, operands, attrs, _ in g.nodes:
        parts = ["  %%%s = %s" % (name, op)]
        if operands:
            parts.append(" " + ", ".join("%" + o for o in operands))
        for k, v in attrs.items():
            parts.append(" %s=%s" % (k, attr_str(v)))
        parts.append(" : " + type_str(g.dtype, tuple(env[name].shape)))
        lines.append("".join(parts))
    lines.append("  output " + ", ".join("%" + o for o in g.outputs))
    lines.append("}")
    return "\n".join(lines) + "\n"


def safetensors_bytes(tensors, dtype):
    """The safetensors encoding of [(name, tensor or array)] in list order."""
    header, blobs, off = {}, [], 0
    for name, t in tensors:
        a = t.detach().numpy() if isinstance(t, torch.Tensor) else t
        raw = np.ascontiguousarray(a, dtype=NP_DTYPE[dtype]).tobytes()
        header[name] = {"dtype": ST_DTYPE[dtype], "shape": list(a.shape),
                        "data_offsets": [off, off + len(raw)]}
        blobs.append(raw)
        off += len(raw)
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * (-len(h) % 8)
    return struct.pack("<Q", len(h)) + h + b"".join(blobs)


def write(path, data, written):
    mode = "wb" if isinstance(data, bytes) else "w"
    with open(path, mode) as f:
        f.write(data)
    written.append(path)


def verify_safetensors(path, expected):
    """Re-reads a file with the `safetensors` package when it is installed (a format check)."""
    try:
        from safetensors.numpy import load_file
    except ImportError:
        return
    got = load_file(path)
    assert set(got) == {n for n, _ in expected}, path
    for n, t in expected:
        a = t.detach().numpy() if isinstance(t, torch.Tensor) else t
        assert got[n].shape == a.shape and got[n].tobytes() == np.ascontiguousarray(
            a, dtype=got[n].dtype).tobytes(), (path, n)


# ---- conditioning --------------------------------------------------------------------------


def rel_err(got, want, floor):
    """max over elements of |got - want| / max(|want|, floor); NaN and inf must match exactly."""
    got, want = got.detach().double(), want.detach().double()
    assert got.shape == want.shape
    special = ~torch.isfinite(want)
    if bool(special.any()):
        gs, ws = got[special], want[special]
        same = (gs == ws) | (torch.isnan(gs) & torch.isnan(ws))
        if not bool(same.all()):
            return math.inf
    g, w = got[~special], want[~special]
    if g.numel() == 0:
        return 0.0
    scale = torch.clamp(w.abs(), min=floor)
    return float(((g - w).abs() / scale).max())


def floor_of(want, grad):
    tiny = 1.1754943508222875e-38  # FLT_MIN; also used for f64 (any value there is normal)
    if not grad:
        return tiny
    finite = want[torch.isfinite(want)]
    top = float(finite.abs().max()) if finite.numel() else 0.0
    return max(GRAD_FLOOR * top, tiny)


def check_conditioning(case, name, y32, y64, grad):
    """The f32 and f64 evaluations must agree to a CHECK_MARGIN-th of the C test's f32 bound."""
    rtol = (GRAD_RTOL if grad else RTOL)["f32"]
    err = rel_err(y32, y64, floor_of(y64.detach().double(), grad))
    if not err <= rtol / CHECK_MARGIN:
        sys.exit("%s: output %s is ill-conditioned: f32 vs f64 error %.3g > %.3g; change its data"
                 % (case, name, err, rtol / CHECK_MARGIN))
    return err


# ---- emitting cases ------------------------------------------------------------------------

WRITTEN = []
CASE_NAMES = []
OPS_SEEN = set()


def emit(g):
    """Evaluates g in PyTorch, checks conditioning, writes the three files."""
    assert g.name not in CASE_NAMES, g.name
    CASE_NAMES.append(g.name)
    OPS_SEEN.update(op for _, op, _, _, _ in g.nodes)
    env, _ = evaluate(g, g.dtype)
    env32, _ = evaluate(g, "f32")
    env64, _ = evaluate(g, "f64")
    worst = 0.0
    for o in g.outputs:
        worst = max(worst, check_conditioning(g.name, o, env32[o], env64[o], False))
    base = os.path.join(CASES, g.name)
    ins = [(name, data) for _, name, data in g.leaves]
    outs = [(o, env[o]) for o in g.outputs]
    write(base + ".mt", mtir_text(g, env), WRITTEN)
    write(base + ".in.safetensors", safetensors_bytes(ins, g.dtype), WRITTEN)
    write(base + ".out.safetensors", safetensors_bytes(outs, g.dtype), WRITTEN)
    verify_safetensors(base + ".in.safetensors", ins)
    verify_safetensors(base + ".out.safetensors", outs)
    print("%-28s %s  %2d outputs  f32-vs-f64 %.1e" % (g.name, g.dtype, len(outs), worst))


def check_no_ties(g, env):
    """The gradient of max and maxpool at a tie may be any split (SPEC section 2); PyTorch
    splits evenly, others pick one. A tie at a non-zero maximum would make the expected
    gradient one arbitrary choice, so it stops the script. (Ties of zeros, as in maxpool of
    relu outputs, are harmless: relu'(x) = 0 below zero stops that gradient anyway.)"""
    for name, op, operands, attrs, _ in g.nodes:
        if op not in ("max", "maxpool2d"):
            continue
        x = env[operands[0]].detach()
        if op == "maxpool2d":
            kh, kw = attrs["kernel"]
            n, c, h, w = x.shape
            x = x[:, :, :h // kh * kh, :w // kw * kw].reshape(n, c, h // kh, kh, w // kw, kw)
            windows = x.permute(0, 1, 2, 4, 3, 5).reshape(-1, kh * kw)
        elif "dim" in attrs:
            windows = x.movedim(attrs["dim"], -1).reshape(-1, x.shape[attrs["dim"]])
        else:
            windows = x.reshape(1, -1)
        top = windows.amax(dim=1, keepdim=True)
        ties = ((windows == top).sum(dim=1) > 1) & (top[:, 0] != 0)
        if bool(ties.any()):
            sys.exit("%s: %%%s has a tie at a non-zero maximum; change its data" % (g.name, name))


def emit_grad(g):
    """Like emit, for a gradient case: expected = outputs, then grad.NAME per param."""
    assert g.name.startswith("grad_") and g.name not in CASE_NAMES, g.name
    CASE_NAMES.append(g.name)
    OPS_SEEN.update(op for _, op, _, _, _ in g.nodes)
    check_no_ties(g, evaluate(g, g.dtype)[0])
    results = {}
    for dt in ("f32", "f64", g.dtype):
        env, params = evaluate(g, dt, requires_grad=True)
        loss = env[g.outputs[0]]
        assert loss.numel() == 1, "the first output of a gradient case is the scalar loss"
        grads = torch.autograd.grad(loss, [t for _, t in params])
        results[dt] = [(o, env[o]) for o in g.outputs] + [
            ("grad." + n, gr) for (n, _), gr in zip(params, grads)]
    worst = 0.0
    for (name, y32), (_, y64) in zip(results["f32"], results["f64"]):
        worst = max(worst, check_conditioning(g.name, name, y32, y64, True))
    base = os.path.join(CASES, g.name)
    env, _ = evaluate(g, g.dtype)
    ins = [(name, data) for _, name, data in g.leaves]
    write(base + ".mt", mtir_text(g, env), WRITTEN)
    write(base + ".in.safetensors", safetensors_bytes(ins, g.dtype), WRITTEN)
    write(base + ".grad.safetensors", safetensors_bytes(results[g.dtype], g.dtype), WRITTEN)
    verify_safetensors(base + ".in.safetensors", ins)
    verify_safetensors(base + ".grad.safetensors", results[g.dtype])
    print("%-28s %s  %2d outputs  f32-vs-f64 %.1e" % (g.name, g.dtype, len(results[g.dtype]),
                                                      worst))


# ---- data ----------------------------------------------------------------------------------
# Every draw takes the case's own generator, so adding a case never changes another one.


def rng_for(name):
    return np.random.default_rng(zlib.crc32(name.encode()))


def uniform(rng, shape, lo=-2.0, hi=2.0):
    return np.asarray(rng.uniform(lo, hi, size=shape))


def away0(rng, shape, lo=0.25, hi=2.0):
    """Magnitudes in [lo, hi) with random signs: away from the kinks of relu and abs."""
    sign = np.where(rng.integers(0, 2, size=shape) == 0, -1.0, 1.0)
    return np.asarray(sign * rng.uniform(lo, hi, size=shape))


def grid(rng, shape, k=8, step=0.25, offset=0.0):
    """Multiples of `step` in [-k*step, k*step], plus offset. With a power-of-two step, sums
    and products of a few of these are exact in f32, whatever the order: contractions and
    reductions over mixed signs stay exactly comparable."""
    return np.asarray(rng.integers(-k, k + 1, size=shape) * step + offset)


def distinct(rng, shape, step=0.125):
    """Pairwise distinct values (a shuffled grid): no ties for max and maxpool."""
    n = int(np.prod(shape, dtype=np.int64))
    return np.asarray((rng.permutation(n) - n // 2) * step + step / 2).reshape(shape)


RANKS = [(), (5,), (3, 4), (2, 3, 4), (2, 3, 2, 2)]

# Broadcast patterns of two operands: same shape, rank 0 against rank n (both ways), rank 0
# against rank 0, a column against a row, [2,1,3] against [4,1], stretching on both sides at
# rank 4, and rank 1 against rank 4.
BCAST = [((3, 4), (3, 4)), ((), (2, 3)), ((2, 3, 4), ()), ((), ()), ((4, 1), (3,)),
         ((3,), (4, 1)), ((2, 1, 3), (4, 1)), ((2, 3, 2, 2), (2, 3, 2, 2)),
         ((2, 1, 3, 1), (1, 4, 1, 2)), ((2,), (2, 3, 1, 2))]


# ---- forward cases -------------------------------------------------------------------------

UNARY_DATA = {
    "neg": uniform,
    "exp": lambda r, s: uniform(r, s, -4.0, 4.0),
    "log": lambda r, s: uniform(r, s, 0.1, 5.0),
    "relu": away0,
    "sigmoid": lambda r, s: uniform(r, s, -6.0, 6.0),
    "inv": lambda r, s: away0(r, s, 0.2, 3.0),
    "tanh": lambda r, s: uniform(r, s, -3.0, 3.0),
    "sqrt": lambda r, s: uniform(r, s, 0.05, 9.0),
    "abs": away0,
}


def unary_cases():
    for op, data in UNARY_DATA.items():
        name = "unary_%s_f32" % op
        rng = rng_for(name)
        g = Graph(name, "f32", "%s at ranks 0-4" % op)
        outs = []
        for r, shape in enumerate(RANKS):
            x = g.input("x%d" % r, data(rng, shape))
            outs.append(g.op("y%d" % r, op, x))
        g.output(*outs)
        emit(g)

        name = "unary_%s_f64" % op
        rng = rng_for(name)
        g = Graph(name, "f64", "%s in f64" % op)
        x = g.input("x", data(rng, (3, 5)))
        g.output(g.op("y", op, x))
        emit(g)

    # The stable form of sigmoid: large |x| on both sides (f32 exp(80) is still finite, so
    # PyTorch's f32 result is accurate there too).
    g = Graph("unary_sigmoid_large", "f32", "sigmoid for large |x|")
    x = g.input("x", np.array([-80.0, -60.0, -30.0, -17.5, 17.5, 30.0, 60.0, 80.0]))
    g.output(g.op("y", "sigmoid", x))
    emit(g)
    g = Graph("unary_sigmoid_large_f64", "f64", "sigmoid for large |x| in f64")
    x = g.input("x", np.array([-700.0, -300.0, -40.0, 40.0, 300.0, 700.0]))
    g.output(g.op("y", "sigmoid", x))
    emit(g)


def ordered_pair(rng, sa, sb):
    """a and b on grids offset by an eighth: never equal, at least 1/8 apart."""
    return grid(rng, sa, offset=0.125), grid(rng, sb)


BINARY_DATA = {
    "add": lambda r, sa, sb: (uniform(r, sa), uniform(r, sb)),
    "sub": lambda r, sa, sb: (uniform(r, sa), uniform(r, sb)),
    "mul": lambda r, sa, sb: (uniform(r, sa), uniform(r, sb)),
    "div": lambda r, sa, sb: (uniform(r, sa), away0(r, sb, 0.3, 2.0)),
    "maximum": ordered_pair,
    "minimum": ordered_pair,
    "pow": lambda r, sa, sb: (uniform(r, sa, 0.2, 3.0), uniform(r, sb, -2.5, 2.5)),
    "lt": ordered_pair,
    "gt": ordered_pair,
    # Small integers so that many pairs are exactly equal.
    "eq": lambda r, sa, sb: (grid(r, sa, 1, 1.0), grid(r, sb, 1, 1.0)),
}


def binary_cases():
    for op, data in BINARY_DATA.items():
        name = "binary_%s_f32" % op
        rng = rng_for(name)
        g = Graph(name, "f32", "%s over every broadcast pattern" % op)
        outs = []
        for i, (sa, sb) in enumerate(BCAST):
            da, db = data(rng, sa, sb)
            a, b = g.input("a%d" % i, da), g.input("b%d" % i, db)
            outs.append(g.op("y%d" % i, op, [a, b]))
        g.output(*outs)
        emit(g)

        name = "binary_%s_f64" % op
        rng = rng_for(name)
        g = Graph(name, "f64", "%s in f64, [2,1,3] with [4,1]" % op)
        da, db = data(rng, (2, 1, 3), (4, 1))
        a, b = g.input("a", da), g.input("b", db)
        g.output(g.op("y", op, [a, b]))
        emit(g)

    # eq on identical operands, and on a value against itself through broadcasting.
    g = Graph("binary_eq_exact", "f32", "eq where every pair is equal")
    x = g.input("x", uniform(rng_for("binary_eq_exact"), (3, 4)))
    y = g.op("y", "eq", [x, x])
    r = g.op("r", "slice", x, start=[0, 1], end=[3, 2])
    z = g.op("z", "eq", [x, r])
    g.output(y, z)
    emit(g)

    # where: c != 0 selects a; conditions include negative and fractional non-zero values.
    conds = np.array([0.0, 1.0, -2.0, 0.5])
    for dt in ("f32", "f64"):
        name = "where_%s" % dt
        rng = rng_for(name)
        g = Graph(name, dt, "where over broadcast patterns; c != 0 picks a")
        pats = [((3, 4), (3, 4), (3, 4)), ((4, 1), (3,), ()), ((), (2, 3), (2, 1)),
                ((2, 1, 3), (4, 1), (1, 1, 3)), ((2, 3, 1, 2), (1, 2), (2, 1, 4, 1))]
        if dt == "f64":
            pats = pats[1:2]
        outs = []
        for i, (sc, sa, sb) in enumerate(pats):
            c = g.input("c%d" % i, rng.choice(conds, size=sc))
            a, b = g.input("a%d" % i, uniform(rng, sa)), g.input("b%d" % i, uniform(rng, sb))
            outs.append(g.op("y%d" % i, "where", [c, a, b]))
        g.output(*outs)
        emit(g)


def reduce_cases():
    # (input shape, dim or None for a full reduction)
    plan = [((5,), 0), ((3, 4), 1), ((3, 4), -2), ((2, 3, 4), -1), ((2, 3, 4), 0),
            ((2, 3, 2, 3), 2), ((2, 3, 2, 3), -4), ((), None), ((5,), None), ((2, 3, 2, 3), None)]
    for op in ("sum", "max", "mean"):
        for dt, kind in (("f32", "grid"), ("f32", "pos"), ("f64", "pos")):
            name = "reduce_%s_%s_%s" % (op, dt, kind)
            rng = rng_for(name)
            g = Graph(name, dt, "%s with positive, negative and no dim (%s data)" % (op, kind))
            outs = []
            for i, (shape, dim) in enumerate(plan):
                if op == "max":
                    d = distinct(rng, shape)
                    if kind == "pos":
                        d = d - d.min() + 0.5 if d.size else d
                elif kind == "grid":
                    d = grid(rng, shape)
                else:
                    d = uniform(rng, shape, 0.5, 2.0)
                x = g.input("x%d" % i, d)
                attrs = {} if dim is None else {"dim": dim}
                outs.append(g.op("y%d" % i, op, x, **attrs))
            g.output(*outs)
            emit(g)


def movement_cases():
    for dt in ("f32", "f64"):
        sfx = "_" + dt
        name = "reshape" + sfx
        rng = rng_for(name)
        g = Graph(name, dt, "reshape at ranks 0-4, with -1")
        plan = [((), [1, 1]), ((6,), [2, 3]), ((2, 3, 4), [4, -1]), ((2, 3, 2, 2), [3, 8]),
                ((3, 4), [2, 1, 2, 3]), ((3, 4), [-1])]
        outs = []
        for i, (shape, to) in enumerate(plan):
            x = g.input("x%d" % i, uniform(rng, shape))
            outs.append(g.op("y%d" % i, "reshape", x, shape=to))
        g.output(*outs)
        emit(g)

        name = "permute" + sfx
        rng = rng_for(name)
        g = Graph(name, dt, "permute at ranks 1-4")
        plan = [((5,), [0]), ((3, 4), [1, 0]), ((2, 3, 4), [2, 0, 1]), ((2, 3, 4), [1, 2, 0]),
                ((2, 3, 2, 4), [3, 1, 0, 2])]
        outs = []
        for i, (shape, perm) in enumerate(plan):
            x = g.input("x%d" % i, uniform(rng, shape))
            outs.append(g.op("y%d" % i, "permute", x, perm=perm))
        g.output(*outs)
        emit(g)

        name = "expand" + sfx
        rng = rng_for(name)
        g = Graph(name, dt, "expand: stretch size-1 dims and add leading dims")
        plan = [((), [2, 3]), ((1,), [5]), ((3, 1), [3, 4]), ((4,), [2, 3, 4]),
                ((2, 1, 3, 1), [2, 2, 3, 2]), ((3, 1), [2, 2, 3, 4]), ((2, 3), [2, 3])]
        outs = []
        for i, (shape, to) in enumerate(plan):
            x = g.input("x%d" % i, uniform(rng, shape))
            outs.append(g.op("y%d" % i, "expand", x, shape=to))
        g.output(*outs)
        emit(g)

        name = "slice" + sfx
        rng = rng_for(name)
        g = Graph(name, dt, "slice at ranks 1-4, negative indices count from the end")
        plan = [((5,), [1], [4]), ((3, 4), [0, 1], [2, 4]), ((3, 4), [-2, 0], [3, -1]),
                ((2, 3, 4), [1, 0, 2], [2, 3, 4]), ((2, 3, 2, 4), [0, 1, 1, -3], [2, 3, 2, -1]),
                ((5,), [0], [5])]
        outs = []
        for i, (shape, s, e) in enumerate(plan):
            x = g.input("x%d" % i, uniform(rng, shape))
            outs.append(g.op("y%d" % i, "slice", x, start=s, end=e))
        g.output(*outs)
        emit(g)

        name = "pad" + sfx
        rng = rng_for(name)
        g = Graph(name, dt, "zero padding before/after each axis, ranks 1-4")
        plan = [((3,), [1, 2]), ((2, 3), [0, 1, 2, 0]), ((2, 3, 4), [1, 0, 0, 2, 1, 1]),
                ((1, 2, 2, 3), [0, 0, 1, 1, 2, 0, 0, 3]), ((2, 2), [0, 0, 0, 0])]
        outs = []
        for i, (shape, pads) in enumerate(plan):
            x = g.input("x%d" % i, away0(rng, shape))
            outs.append(g.op("y%d" % i, "pad", x, pads=pads))
        g.output(*outs)
        emit(g)

        name = "concat" + sfx
        rng = rng_for(name)
        g = Graph(name, dt, "concat of two and three tensors, positive and negative dims")
        plan = [([(2,), (3,)], 0), ([(2, 3), (1, 3)], 0), ([(2, 1), (2, 3), (2, 2)], 1),
                ([(2, 3, 1), (2, 3, 2)], -1), ([(2, 1, 3, 2), (2, 2, 3, 2), (2, 1, 3, 2)], -3),
                ([(1, 2), (1, 2)], -2)]
        outs = []
        for i, (shapes, dim) in enumerate(plan):
            xs = [g.input("x%d_%d" % (i, j), uniform(rng, s)) for j, s in enumerate(shapes)]
            outs.append(g.op("y%d" % i, "concat", xs, dim=dim))
        g.output(*outs)
        emit(g)

    # Rank 0 from a one-element tensor; empty lists in attributes.
    g = Graph("reshape_to_rank0", "f32", "reshape [1,1] to rank 0 and back")
    x = g.input("x", uniform(rng_for("reshape_to_rank0"), (1, 1)))
    y = g.op("y", "reshape", x, shape=[])
    z = g.op("z", "reshape", y, shape=[1])
    g.output(y, z)
    emit(g)


def chain_cases():
    # permute -> reshape -> slice -> expand, then arithmetic on the strided result.
    for dt in ("f32", "f64"):
        name = "chain_move_" + dt
        rng = rng_for(name)
        g = Graph(name, dt, "permute -> reshape -> slice -> expand, then add")
        x = g.input("x", uniform(rng, (2, 3, 4)))
        b = g.input("b", uniform(rng, (4, 1)))
        p = g.op("p", "permute", x, perm=[1, 2, 0])  # [3,4,2]
        r = g.op("r", "reshape", p, shape=[3, 8])
        s = g.op("s", "slice", r, start=[1, 2], end=[3, 7])  # [2,5]
        r2 = g.op("r2", "reshape", s, shape=[2, 1, 5])
        e = g.op("e", "expand", r2, shape=[3, 2, 4, 5])
        y = g.op("y", "add", [e, b])
        g.output(y, e)
        emit(g)

    name = "chain_move_rank4"
    rng = rng_for(name)
    g = Graph(name, "f32", "rank-4 chain with negative slice, pad, concat, reduce")
    x = g.input("x", uniform(rng, (2, 3, 2, 4)))
    p = g.op("p", "permute", x, perm=[3, 0, 2, 1])  # [4,2,2,3]
    s = g.op("s", "slice", p, start=[-3, 0, 1, 0], end=[4, 2, 2, -1])  # [3,2,1,2]
    r = g.op("r", "reshape", s, shape=[6, 2])
    d = g.op("d", "pad", r, pads=[1, 0, 0, 2])  # [7,4]
    e = g.op("e", "expand", d, shape=[2, 7, 4])
    t = g.op("t", "permute", e, perm=[2, 1, 0])  # [4,7,2]
    c = g.op("c", "concat", [t, t], dim=-1)  # [4,7,4]
    m = g.op("m", "sum", c, dim=1)
    n = g.op("n", "max", c, dim=-1)
    g.output(c, m, n)
    emit(g)

    # Elementwise ops reading permuted and expanded views.
    name = "chain_elementwise_views"
    rng = rng_for(name)
    g = Graph(name, "f32", "unary and binary ops on permuted, sliced, expanded values")
    x = g.input("x", uniform(rng, (3, 4), 0.2, 2.0))
    p = g.op("p", "permute", x, perm=[1, 0])
    l = g.op("l", "log", p)
    s = g.op("s", "slice", x, start=[0, 1], end=[3, 3])  # [3,2]
    e = g.op("e", "expand", s, shape=[2, 3, 2])
    q = g.op("q", "sqrt", e)
    m = g.op("m", "mul", [q, e])
    g.output(l, m)
    emit(g)


def contract_cases():
    for dt in ("f32", "f64"):
        name = "matmul_" + dt
        rng = rng_for(name)
        g = Graph(name, dt, "matmul with batch broadcasting")
        plan = [((3, 4), (4, 5)), ((1, 1), (1, 1)), ((2, 3, 4), (4, 5)), ((3, 4), (2, 4, 5)),
                ((2, 1, 3, 4), (3, 4, 2)), ((2, 1, 2, 3), (1, 4, 3, 2)), ((2, 3, 4), (2, 4, 1))]
        outs = []
        for i, (sa, sb) in enumerate(plan):
            a, b = g.input("a%d" % i, grid(rng, sa)), g.input("b%d" % i, grid(rng, sb))
            outs.append(g.op("y%d" % i, "matmul", [a, b]))
        g.output(*outs)
        emit(g)

    # Non-dyadic data: positive entries keep every sum free of cancellation.
    name = "matmul_f32_pos"
    rng = rng_for(name)
    g = Graph(name, "f32", "matmul of positive non-dyadic data")
    a = g.input("a", uniform(rng, (2, 3, 7), 0.5, 1.5))
    b = g.input("b", uniform(rng, (7, 4), 0.5, 1.5))
    g.output(g.op("y", "matmul", [a, b]))
    emit(g)

    for dt in ("f32", "f64"):
        name = "conv1d_" + dt
        rng = rng_for(name)
        g = Graph(name, dt, "conv1d with stride and padding")
        x = g.input("x", grid(rng, (2, 3, 10)))
        w = g.input("w", grid(rng, (4, 3, 3)))
        w4 = g.input("w4", grid(rng, (2, 3, 4)))
        outs = [g.op("y0", "conv1d", [x, w]),
                g.op("y1", "conv1d", [x, w], stride=2, padding=1),
                g.op("y2", "conv1d", [x, w4], stride=3, padding=2),
                g.op("y3", "conv1d", [x, w4], stride=1, padding=3)]
        g.output(*outs)
        emit(g)

        name = "conv2d_" + dt
        rng = rng_for(name)
        g = Graph(name, dt, "conv2d with stride and padding, as lists and single ints")
        x = g.input("x", grid(rng, (2, 3, 7, 8)))
        w = g.input("w", grid(rng, (4, 3, 3, 3)))
        w23 = g.input("w23", grid(rng, (2, 3, 2, 3)))
        outs = [g.op("y0", "conv2d", [x, w], stride=[1, 1], padding=[1, 1]),
                g.op("y1", "conv2d", [x, w], stride=2, padding=1),
                g.op("y2", "conv2d", [x, w], stride=[2, 1], padding=[0, 2]),
                g.op("y3", "conv2d", [x, w23], stride=[3, 2], padding=[1, 0]),
                g.op("y4", "conv2d", [x, w23])]
        g.output(*outs)
        emit(g)

    name = "conv2d_f32_pos"
    rng = rng_for(name)
    g = Graph(name, "f32", "conv2d of positive non-dyadic data")
    x = g.input("x", uniform(rng, (1, 2, 5, 5), 0.5, 1.5))
    w = g.input("w", uniform(rng, (3, 2, 3, 3), 0.5, 1.5))
    g.output(g.op("y", "conv2d", [x, w], stride=[2, 2], padding=[1, 1]))
    emit(g)


def pool_cases():
    for dt in ("f32", "f64"):
        for op in ("avgpool2d", "maxpool2d"):
            name = "%s_%s" % (op, dt)
            rng = rng_for(name)
            g = Graph(name, dt, "%s: stride = kernel, floor of odd sizes" % op)
            x = g.input("x", distinct(rng, (2, 3, 7, 9)))
            outs = [g.op("y0", op, x, kernel=[2, 2]), g.op("y1", op, x, kernel=[3, 2]),
                    g.op("y2", op, x, kernel=[1, 1]), g.op("y3", op, x, kernel=[7, 4])]
            g.output(*outs)
            emit(g)


def const_cases():
    g = Graph("const_f32", "f32", "const at several ranks and values, special values")
    x = g.input("x", uniform(rng_for("const_f32"), (2, 3)))
    c0 = g.op("c0", "const", [], out_shape=(2, 3), value=0.5)
    c1 = g.op("c1", "const", [], out_shape=(), value=-3.0)
    c2 = g.op("c2", "const", [], out_shape=(2, 1, 3), value=0.001)
    ninf = g.op("ninf", "const", [], out_shape=(), value=-math.inf)
    pinf = g.op("pinf", "const", [], out_shape=(3,), value=math.inf)
    y0 = g.op("y0", "add", [x, c0])
    y1 = g.op("y1", "mul", [x, c1])
    y2 = g.op("y2", "sub", [c2, x])
    y3 = g.op("y3", "maximum", [x, ninf])
    y4 = g.op("y4", "minimum", [x, pinf])
    g.output(y0, y1, y2, y3, y4, pinf)
    emit(g)

    g = Graph("const_f64", "f64", "const in f64")
    x = g.input("x", uniform(rng_for("const_f64"), (4,)))
    c = g.op("c", "const", [], out_shape=(2, 4), value=0.1)
    g.output(g.op("y", "add", [x, c]))
    emit(g)

    # NaN propagates through maximum, as in PyTorch.
    g = Graph("const_nan", "f32", "maximum and minimum propagate NaN")
    x = g.input("x", uniform(rng_for("const_nan"), (3,)))
    n = g.op("n", "const", [], out_shape=(3,), value=math.nan)
    g.output(g.op("y", "maximum", [x, n]), g.op("z", "minimum", [n, x]))
    emit(g)


def composite_cases():
    # Softmax and a layer norm, written in MTIR ops, as a user would.
    for dt in ("f32", "f64"):
        name = "softmax_" + dt
        rng = rng_for(name)
        g = Graph(name, dt, "softmax over the last axis with max-subtract")
        x = g.input("x", uniform(rng, (2, 3, 5), -3.0, 3.0))
        m = g.op("m", "max", x, dim=-1)
        z = g.op("z", "sub", [x, m])
        e = g.op("e", "exp", z)
        s = g.op("s", "sum", e, dim=-1)
        y = g.op("y", "div", [e, s])
        g.output(y)
        emit(g)

    name = "layernorm_f32"
    rng = rng_for(name)
    g = Graph(name, "f32", "layer norm: mean, variance, 1/sqrt")
    # x - mean(x) cancels for an element near its row's mean; redraw such rows.
    data = uniform(rng, (4, 6), -2.0, 2.0)
    for i in range(4):
        while np.abs(data[i] - data[i].mean()).min() < 0.1:
            data[i] = uniform(rng, (6,), -2.0, 2.0)
    x = g.input("x", data)
    mu = g.op("mu", "mean", x, dim=1)
    d = g.op("d", "sub", [x, mu])
    d2 = g.op("d2", "mul", [d, d])
    var = g.op("var", "mean", d2, dim=-1)
    eps = g.op("eps", "const", [], out_shape=(), value=1e-5)
    ve = g.op("ve", "add", [var, eps])
    sd = g.op("sd", "sqrt", ve)
    inv = g.op("inv", "inv", sd)
    y = g.op("y", "mul", [d, inv])
    g.output(y, var)
    emit(g)


# ---- gradient cases ------------------------------------------------------------------------


def cross_entropy(g, logits, y):
    """Mean softmax cross-entropy in MTIR ops: log-softmax by max-subtract, exp, sum, log."""
    m = g.op("m", "max", logits, dim=1)
    z = g.op("z", "sub", [logits, m])
    e = g.op("e", "exp", z)
    s = g.op("s", "sum", e, dim=1)
    ls = g.op("ls", "log", s)
    lp = g.op("lp", "sub", [z, ls])
    t = g.op("t", "mul", [lp, y])
    r = g.op("r", "sum", t, dim=1)
    mr = g.op("mr", "mean", r)
    return g.op("loss", "neg", mr), lp


def onehot(rng, n, k):
    y = np.zeros((n, k))
    y[np.arange(n), rng.integers(0, k, size=n)] = 1.0
    return y


def grad_cases():
    for dt in ("f32", "f64"):
        name = "grad_mlp_" + dt
        rng = rng_for(name)
        g = Graph(name, dt, "two-layer MLP with softmax cross-entropy")
        x = g.input("x", uniform(rng, (4, 6), -1.0, 1.0))
        y = g.input("y", onehot(rng, 4, 3))
        w1 = g.param("w1", uniform(rng, (6, 5), -0.8, 0.8))
        b1 = g.param("b1", uniform(rng, (5,), -0.3, 0.3))
        w2 = g.param("w2", uniform(rng, (5, 3), -0.8, 0.8))
        b2 = g.param("b2", uniform(rng, (3,), -0.3, 0.3))
        h = g.op("h", "matmul", [x, w1])
        hb = g.op("hb", "add", [h, b1])
        a = g.op("a", "tanh", hb)
        o = g.op("o", "matmul", [a, w2])
        logits = g.op("logits", "add", [o, b2])
        loss, lp = cross_entropy(g, logits, y)
        g.output(loss, lp)
        emit_grad(g)

    name = "grad_convnet_f32"
    rng = rng_for(name)
    g = Graph(name, "f32", "conv(s1,p1) relu maxpool conv(s2,p1) relu avgpool linear CE")
    x = g.input("x", uniform(rng, (2, 1, 8, 8), -1.0, 1.0))
    y = g.input("y", onehot(rng, 2, 3))
    w1 = g.param("w1", uniform(rng, (3, 1, 3, 3), -0.6, 0.6))
    w2 = g.param("w2", uniform(rng, (4, 3, 3, 3), -0.5, 0.5))
    w3 = g.param("w3", uniform(rng, (4, 3), -0.8, 0.8))
    b3 = g.param("b3", uniform(rng, (3,), -0.2, 0.2))
    c1 = g.op("c1", "conv2d", [x, w1], stride=[1, 1], padding=[1, 1])  # [2,3,8,8]
    r1 = g.op("r1", "relu", c1)
    p1 = g.op("p1", "maxpool2d", r1, kernel=[2, 2])  # [2,3,4,4]
    c2 = g.op("c2", "conv2d", [p1, w2], stride=[2, 2], padding=[1, 1])  # [2,4,2,2]
    r2 = g.op("r2", "relu", c2)
    p2 = g.op("p2", "avgpool2d", r2, kernel=[2, 2])  # [2,4,1,1]
    f = g.op("f", "reshape", p2, shape=[2, 4])
    o = g.op("o", "matmul", [f, w3])
    logits = g.op("logits", "add", [o, b3])
    loss, _ = cross_entropy(g, logits, y)
    g.output(loss, logits)
    emit_grad(g)

    name = "grad_conv1d_f64"
    rng = rng_for(name)
    g = Graph(name, "f64", "conv1d with stride and padding, sigmoid, sum")
    x = g.input("x", uniform(rng, (2, 2, 9)))
    w = g.param("w", uniform(rng, (3, 2, 3)))
    c = g.op("c", "conv1d", [x, w], stride=2, padding=1)
    s = g.op("s", "sigmoid", c)
    loss = g.op("loss", "sum", s)
    g.output(loss)
    emit_grad(g)

    for dt in ("f32", "f64"):
        name = "grad_movement_" + dt
        rng = rng_for(name)
        g = Graph(name, dt, "permute -> reshape -> slice -> expand -> pad -> concat")
        p = g.param("p", uniform(rng, (2, 3, 4)))
        q = g.param("q", uniform(rng, (4, 1)))
        k = g.input("k", uniform(rng, (3, 2, 7)))
        t = g.op("t", "permute", p, perm=[2, 0, 1])  # [4,2,3]
        r = g.op("r", "reshape", t, shape=[4, 6])
        s = g.op("s", "slice", r, start=[1, 0], end=[4, -1])  # [3,5]
        e = g.op("e", "expand", s, shape=[2, 3, 5])
        d = g.op("d", "pad", e, pads=[0, 0, 0, 0, 1, 1])  # [2,3,7]
        f = g.op("f", "permute", d, perm=[1, 0, 2])  # [3,2,7]
        qe = g.op("qe", "expand", q, shape=[4, 7])
        qr = g.op("qr", "reshape", qe, shape=[2, 2, 7])
        c = g.op("c", "concat", [f, qr], dim=0)  # [5,2,7]
        kk = g.op("kk", "concat", [k, k], dim=0)  # [6,2,7]
        kc = g.op("kc", "slice", kk, start=[1, 0, 0], end=[6, 2, 7])
        m = g.op("m", "mul", [c, kc])
        sq = g.op("sq", "mul", [m, m])
        mx = g.op("mx", "max", sq, dim=-1)
        loss = g.op("loss", "sum", mx)
        g.output(loss, m)
        emit_grad(g)

    name = "grad_elementwise_f64"
    rng = rng_for(name)
    g = Graph(name, "f64", "every differentiable elementwise op with broadcasting")
    a = g.param("a", uniform(rng, (3, 4), 0.5, 2.0))
    b = g.param("b", uniform(rng, (4,), 0.5, 2.0))
    c = g.param("c", np.asarray(0.7))
    u = g.param("u", away0(rng, (3, 1), 0.3, 1.5))
    n = g.param("n", uniform(rng, (3, 1), -1.5, -0.3))
    v = g.input("v", grid(rng, (3, 4), offset=0.125))
    w = g.input("w", rng.choice(np.array([0.0, 1.0]), size=(4,)))
    outs = []
    outs.append(g.op("e0", "div", [a, b]))
    outs.append(g.op("e1", "pow", [a, c]))
    outs.append(g.op("e2", "pow", [b, a]))
    outs.append(g.op("e3", "log", g.op("l0", "add", [a, b])))
    outs.append(g.op("e4", "sqrt", g.op("l1", "mul", [a, b])))
    outs.append(g.op("e5", "inv", g.op("l2", "sub", [a, n])))
    outs.append(g.op("e6", "sigmoid", g.op("l3", "mul", [u, b])))
    outs.append(g.op("e7", "tanh", g.op("l4", "mul", [u, c])))
    outs.append(g.op("e8", "exp", g.op("l5", "neg", a)))
    outs.append(g.op("e9", "abs", g.op("l6", "mul", [u, a])))
    outs.append(g.op("e10", "relu", g.op("l7", "mul", [u, b])))
    outs.append(g.op("e11", "maximum", [a, v]))
    outs.append(g.op("e12", "minimum", [v, b]))
    lt = g.op("lt", "lt", [v, a])
    gt = g.op("gt", "gt", [a, v])
    eq = g.op("eq", "eq", [w, b])
    outs.append(g.op("e13", "mul", [lt, a]))
    outs.append(g.op("e14", "mul", [gt, b]))
    outs.append(g.op("e15", "add", [eq, c]))
    outs.append(g.op("e16", "where", [w, a, u]))
    acc = outs[0]
    for i, o in enumerate(outs[1:]):
        acc = g.op("acc%d" % i, "add", [acc, o])
    mean = g.op("loss", "mean", acc)
    g.output(mean)
    emit_grad(g)

    name = "grad_matmul_f32"
    rng = rng_for(name)
    g = Graph(name, "f32", "batched matmul with broadcasting, sum and mean reductions")
    a = g.param("a", uniform(rng, (2, 3, 4), 0.5, 1.5))
    b = g.param("b", uniform(rng, (4, 5), 0.5, 1.5))
    m = g.op("m", "matmul", [a, b])
    s = g.op("s", "sum", m, dim=-2)
    r = g.op("r", "mean", s, dim=0)
    loss = g.op("loss", "sum", r)
    g.output(loss)
    emit_grad(g)


def main():
    os.makedirs(CASES, exist_ok=True)
    for old in os.listdir(CASES):
        if old.endswith((".mt", ".safetensors")):
            os.remove(os.path.join(CASES, old))
    torch.set_num_threads(1)  # one summation order, whatever the machine
    unary_cases()
    binary_cases()
    reduce_cases()
    movement_cases()
    chain_cases()
    contract_cases()
    pool_cases()
    const_cases()
    composite_cases()
    grad_cases()
    missing = [op for op in SPEC_OPS if op not in OPS_SEEN]
    if missing:
        sys.exit("no case covers: " + ", ".join(missing))
    total = sum(os.path.getsize(p) for p in WRITTEN)
    print("wrote %d files for %d cases (%d bytes) under %s" % (len(WRITTEN), len(CASE_NAMES),
                                                               total, os.path.relpath(CASES)))


if __name__ == "__main__":
    main()
