"""mtc: load models compiled by `mtc compile` and call them with numpy arrays.

    import numpy as np, mtc
    net = mtc.load("libxor.so")            # an inference graph
    loss, p = net(x, y)                     # numpy in, numpy out (shapes and dtypes checked)

    train = mtc.load("libmlp_step.so")      # a step graph (mtc step ... | mtc compile)
    loss, logits = train.step(x, y)         # one training step; params and state kept inside
    w1 = train.get("w1"); train.set("w1", w1 * 0.5)

The shared object needs nothing but libc, libm and pthreads; this package needs only ctypes and
numpy. It reads the model's interface from NAME_signature() (docs/abi.md), so nothing about
the model is hard-coded here. Every error is an mtc.MtcError with a message naming the value.
"""
import ctypes
import os
import re
import struct

import numpy as np

__all__ = ["load", "Model", "StepModel", "Tensor", "MtcError"]
__version__ = "0.1.0"

ABI_VERSION = 1
_DTYPES = {"f32": np.dtype(np.float32), "f64": np.dtype(np.float64)}
_LINE = re.compile(r"^(input|param|state|output) %([A-Za-z0-9_.]+) : (f32|f64)\[([0-9,]*)\]$")


class MtcError(Exception):
    """A compiled model refused a call, or a file is not a compiled model."""


class Tensor:
    """One input, output, param or state of a compiled model: name, kind, dtype and shape."""

    def __init__(self, kind, name, dtype, shape):
        self.kind, self.name, self.dtype, self.shape = kind, name, _DTYPES[dtype], shape
        self.type = "%s[%s]" % (dtype, ",".join(str(d) for d in shape))

    @property
    def nbytes(self):
        return int(np.prod(self.shape, dtype=np.int64)) * self.dtype.itemsize

    def __repr__(self):
        return "%s %%%s : %s" % (self.kind, self.name, self.type)

    def check(self, value):
        """value as a C-contiguous array of this dtype and shape, or MtcError."""
        a = np.asarray(value)
        if a.dtype != self.dtype or tuple(a.shape) != self.shape:
            raise MtcError("%s %%%s is %s, got a %s array of shape %s"
                           % (self.kind, self.name, self.type, a.dtype, tuple(a.shape)))
        return np.require(a, requirements="C")  # keeps rank 0, unlike ascontiguousarray


def _graph_name(path):
    """The graph's name: the NAME of the NAME_abi_version the .so defines (ELF .dynsym)."""
    with open(path, "rb") as f:
        data = f.read()
    if data[:4] != b"\x7fELF" or data[4] != 2 or data[5] != 1:
        raise MtcError("%s: not a 64-bit little-endian ELF shared object" % path)
    shoff, = struct.unpack_from("<Q", data, 0x28)
    shentsize, shnum = struct.unpack_from("<HH", data, 0x3A)
    sections = [struct.unpack_from("<IIQQQQIIQQ", data, shoff + i * shentsize) for i in range(shnum)]
    for sh in sections:
        if sh[1] != 11:  # SHT_DYNSYM
            continue
        strtab = sections[sh[6]]
        for off in range(sh[4], sh[4] + sh[5], sh[9] or 24):
            name_at, _info, _other, shndx = struct.unpack_from("<IBBH", data, off)
            end = data.index(b"\0", strtab[4] + name_at)
            name = data[strtab[4] + name_at:end].decode("ascii", "replace")
            if shndx != 0 and name.endswith("_abi_version"):
                return name[:-len("_abi_version")]
    raise MtcError("%s: no NAME_abi_version symbol: not made by mtc compile" % path)


class _Library:
    def __init__(self, path):
        self.path = os.fspath(path)
        self.name = _graph_name(self.path)
        try:
            self.lib = ctypes.CDLL(os.path.abspath(self.path))
        except OSError as e:
            raise MtcError("%s: %s" % (self.path, e)) from None
        version = self.fn("abi_version", ctypes.c_int, [])()
        if version != ABI_VERSION:
            raise MtcError("%s: ABI version %d, this package reads %d"
                           % (self.path, version, ABI_VERSION))
        text = self.fn("signature", ctypes.c_char_p, [])().decode()
        self.signature = text
        self.inputs, self.outputs, self.params, self.states = [], [], [], []
        lists = {"input": self.inputs, "output": self.outputs, "param": self.params,
                 "state": self.states}
        for line in text.splitlines()[1:]:
            m = _LINE.match(line)
            if not m:
                raise MtcError("%s: cannot read signature line %r" % (self.path, line))
            shape = tuple(int(d) for d in m.group(4).split(",")) if m.group(4) else ()
            lists[m.group(1)].append(Tensor(m.group(1), m.group(2), m.group(3), shape))

    def fn(self, suffix, restype, argtypes):
        f = getattr(self.lib, "%s_%s" % (self.name, suffix))
        f.restype, f.argtypes = restype, argtypes
        return f

    def has(self, suffix):
        return hasattr(self.lib, "%s_%s" % (self.name, suffix))

    def buffers(self, args, kwargs):
        """The inputs as checked arrays, and the pointer arrays for a call."""
        if len(args) + len(kwargs) != len(self.inputs):
            raise MtcError("%s takes %d inputs (%s), got %d" % (
                self.name, len(self.inputs), ", ".join(t.name for t in self.inputs),
                len(args) + len(kwargs)))
        values = list(args)
        for t in self.inputs[len(args):]:
            if t.name not in kwargs:
                raise MtcError("%s: no value for input %%%s" % (self.name, t.name))
            values.append(kwargs[t.name])
        ins = [t.check(v) for t, v in zip(self.inputs, values)]
        outs = [np.empty(t.shape, t.dtype) for t in self.outputs]
        in_ptrs = (ctypes.c_void_p * max(1, len(ins)))(*[a.ctypes.data for a in ins])
        out_ptrs = (ctypes.c_void_p * max(1, len(outs)))(*[a.ctypes.data for a in outs])
        return ins, outs, in_ptrs, out_ptrs


def _result(outs):
    return outs[0] if len(outs) == 1 else tuple(outs)


class Model:
    """An inference graph: call it with one numpy array per input (in declaration order, or by
    name); it returns the output (or a tuple of outputs). Safe to call from several threads."""

    def __init__(self, lib):
        self._lib = lib
        self._run = lib.fn("run", ctypes.c_int, [ctypes.c_void_p, ctypes.c_void_p])

    name = property(lambda self: self._lib.name)
    inputs = property(lambda self: list(self._lib.inputs))
    outputs = property(lambda self: list(self._lib.outputs))
    params = property(lambda self: list(self._lib.params))
    signature = property(lambda self: self._lib.signature)

    def __call__(self, *args, **kwargs):
        return self.run(*args, **kwargs)

    def run(self, *args, **kwargs):
        ins, outs, in_ptrs, out_ptrs = self._lib.buffers(args, kwargs)
        rc = self._run(in_ptrs, out_ptrs)
        if rc != 0:
            raise MtcError("%s_run failed (%d)" % (self.name, rc))
        return _result(outs)

    def __repr__(self):
        return "<mtc.Model %s: %s>" % (self.name, ", ".join(map(repr, self.inputs + self.outputs)))


class StepModel:
    """A step graph: step(...) runs one training step and keeps the new params and state;
    get(name) and set(name, array) read and write one param or state. One state per object:
    step distinct objects in distinct threads, not one object in two."""

    def __init__(self, lib):
        self._lib = lib
        vp = ctypes.c_void_p
        self._new = lib.fn("state_new", vp, [])
        self._step = lib.fn("step", ctypes.c_int, [vp, vp, vp])
        self._get = lib.fn("state_get", ctypes.c_int, [vp, ctypes.c_char_p, vp, ctypes.c_size_t])
        self._set = lib.fn("state_set", ctypes.c_int, [vp, ctypes.c_char_p, vp, ctypes.c_size_t])
        self._free = lib.fn("state_free", None, [vp])
        self._state = None
        self.reset()

    name = property(lambda self: self._lib.name)
    inputs = property(lambda self: list(self._lib.inputs))
    outputs = property(lambda self: list(self._lib.outputs))
    params = property(lambda self: list(self._lib.params))
    states = property(lambda self: list(self._lib.states))
    signature = property(lambda self: self._lib.signature)

    def reset(self):
        """Back to the params and state baked into the .so."""
        state = self._new()
        if not state:
            raise MtcError("%s_state_new: out of memory" % self.name)
        self.close()
        self._state = state

    def close(self):
        if self._state:
            self._free(self._state)
            self._state = None

    def __del__(self):
        try:
            self.close()
        except Exception:
            pass

    def _tensor(self, name):
        for t in self._lib.params + self._lib.states:
            if t.name == name:
                return t
        raise MtcError("%s has no param or state %%%s" % (self.name, name))

    def step(self, *args, **kwargs):
        ins, outs, in_ptrs, out_ptrs = self._lib.buffers(args, kwargs)
        rc = self._step(self._state, in_ptrs, out_ptrs)
        if rc != 0:
            raise MtcError("%s_step failed (%d)" % (self.name, rc))
        return _result(outs)

    def get(self, name):
        t = self._tensor(name)
        a = np.empty(t.shape, t.dtype)
        if self._get(self._state, name.encode(), a.ctypes.data, t.nbytes) != 0:
            raise MtcError("%s_state_get %s failed" % (self.name, name))
        return a

    def set(self, name, value):
        t = self._tensor(name)
        a = t.check(value)
        if self._set(self._state, name.encode(), a.ctypes.data, t.nbytes) != 0:
            raise MtcError("%s_state_set %s failed" % (self.name, name))

    def __repr__(self):
        return "<mtc.StepModel %s: %s>" % (self.name, ", ".join(map(repr, self.inputs + self.outputs)))


def load(path):
    """A compiled model: a Model for an inference graph, a StepModel for a step graph."""
    if not os.path.exists(path):
        raise MtcError("%s: no such file" % path)
    lib = _Library(path)
    return StepModel(lib) if lib.has("step") else Model(lib)
