"""JAX's side of bench/train.sh: the workloads of bench/train.c, each training step one jax.jit.

usage: python jax_bench.py SYSTEM SECONDS
prints `SYSTEM NAME VALUE UNIT` lines, the names of bench/train.c.

A step is one jitted function from (params, momentum buffers, x, y) to their new values and the
loss: forward, jax.grad, and SGD with momentum as torch.optim.SGD computes it (buf = m * buf +
g; p -= lr * buf). Buffers are donated, so XLA may update them in place. JAX uses every core;
its thread count is XLA's to choose. compile_mlp is lower + compile of the MLP step, cold (no
persistent compilation cache). Sizes are common.py's.
"""
import sys
import time

import jax
import jax.numpy as jnp
from jax import lax

from common import CHAIN_N, LENET, MINITORCH, MLP, median_time, report

system, seconds = sys.argv[1], float(sys.argv[2])
key = jax.random.PRNGKey(0)


def linear(key, n_in, n_out):
    k1, k2 = jax.random.split(key)
    bound = 1.0 / n_in ** 0.5
    return (jax.random.uniform(k1, (n_in, n_out), minval=-bound, maxval=bound),
            jax.random.uniform(k2, (n_out,), minval=-bound, maxval=bound))


def conv(key, c_out, c_in, k):
    k1, k2 = jax.random.split(key)
    bound = 1.0 / (c_in * k * k) ** 0.5
    return (jax.random.uniform(k1, (c_out, c_in, k, k), minval=-bound, maxval=bound),
            jax.random.uniform(k2, (c_out,), minval=-bound, maxval=bound))


def mlp_apply(params, x):
    for i, (w, b) in enumerate(params):
        x = x @ w + b
        if i < len(params) - 1:
            x = jax.nn.relu(x)
    return x


def lenet_apply(params, x):
    (c1, b1), (c2, b2), fc1, fc2 = params
    dn = ("NCHW", "OIHW", "NCHW")

    def block(x, w, b):
        x = lax.conv_general_dilated(x, w, (1, 1), "VALID", dimension_numbers=dn)
        x = jax.nn.relu(x + b[None, :, None, None])
        return lax.reduce_window(x, -jnp.inf, lax.max, (1, 1, 2, 2), (1, 1, 2, 2), "VALID")

    x = block(block(x, c1, b1), c2, b2).reshape(x.shape[0], -1)
    return mlp_apply([fc1, fc2], x)


def cross_entropy(logits, y):
    return -jnp.mean(jnp.sum(y * jax.nn.log_softmax(logits), axis=1))


def bce_logits(z, y):
    return jnp.mean(jnp.maximum(z, 0) - z * y + jnp.log1p(jnp.exp(-jnp.abs(z))))


def make_step(apply, loss_fn, lr, momentum):
    def loss(params, x, y):
        return loss_fn(apply(params, x), y)

    def step(params, bufs, x, y):
        l, g = jax.value_and_grad(loss)(params, x, y)
        bufs = jax.tree_util.tree_map(lambda b, g: momentum * b + g, bufs, g)
        params = jax.tree_util.tree_map(lambda p, b: p - lr * b, params, bufs)
        return params, bufs, l

    return jax.jit(step, donate_argnums=(0, 1))


def one_hot_batch(key, batch, shape, classes):
    k1, k2 = jax.random.split(key)
    x = jax.random.uniform(k1, (batch, *shape))
    y = jax.nn.one_hot(jax.random.randint(k2, (batch,), 0, classes), classes)
    return x, y


def throughput(name, apply, params, x, y, cfg, loss_fn=cross_entropy):
    state = [params, jax.tree_util.tree_map(jnp.zeros_like, params)]
    step = make_step(apply, loss_fn, cfg["lr"], cfg.get("momentum", 0.0))

    def run():
        state[0], state[1], l = step(state[0], state[1], x, y)
        l.block_until_ready()

    t = median_time(run, seconds)
    report(system, name, f"{cfg['batch'] / t:.0f}", "samples/s")


def main():
    keys = jax.random.split(key, 8)
    s = MLP["sizes"]
    mlp = [linear(keys[i], s[i], s[i + 1]) for i in range(3)]
    x, y = one_hot_batch(keys[3], MLP["batch"], (s[0],), s[-1])
    # Cold compile first, while nothing of this step has been compiled.
    step = make_step(mlp_apply, cross_entropy, MLP["lr"], MLP["momentum"])
    zeros = jax.tree_util.tree_map(jnp.zeros_like, mlp)
    t0 = time.perf_counter()
    step.lower(mlp, zeros, x, y).compile()
    compile_ms = (time.perf_counter() - t0) * 1e3
    throughput("mlp", mlp_apply, mlp, x, y, MLP)
    report(system, "compile_mlp", f"{compile_ms:.0f}", "ms")

    c = LENET["classes"]
    lenet = [conv(keys[4], 8, 1, 5), conv(keys[5], 16, 8, 5), linear(keys[6], 256, 64),
             linear(keys[7], 64, c)]
    x, y = one_hot_batch(keys[3], LENET["batch"], (1, LENET["side"], LENET["side"]), c)
    throughput("lenet", lenet_apply, lenet, x, y, LENET)

    m = MINITORCH
    k = jax.random.split(keys[0], 4)
    mt = [linear(k[0], 2, m["hidden"]), linear(k[1], m["hidden"], m["hidden"]),
          linear(k[2], m["hidden"], 1)]
    xs = [jax.random.uniform(jax.random.fold_in(k[3], i), (m["batch"], 2)) for i in range(m["steps"])]
    ys = [(jax.random.uniform(jax.random.fold_in(k[3], 100 + i), (m["batch"], 1)) > 0.5)
          .astype(jnp.float32) for i in range(m["steps"])]
    state = [mt, jax.tree_util.tree_map(jnp.zeros_like, mt)]
    step = make_step(mlp_apply, bce_logits, m["lr"], 0.0)

    def epoch():
        for xb, yb in zip(xs, ys):
            state[0], state[1], l = step(state[0], state[1], xb, yb)
        l.block_until_ready()

    report(system, "minitorch_epoch", f"{median_time(epoch, seconds) * 1e3:.4f}", "ms")

    @jax.jit
    def chain(x):
        e = jnp.exp(jnp.tanh(jax.nn.sigmoid(x)))
        return e.sum(axis=1, keepdims=True), e.sum(axis=0, keepdims=True)

    x = jax.random.uniform(keys[1], (CHAIN_N, CHAIN_N), minval=-1, maxval=1)
    t = median_time(lambda: jax.block_until_ready(chain(x)), seconds)
    report(system, "chain", f"{t * 1e3:.2f}", "ms")


main()
