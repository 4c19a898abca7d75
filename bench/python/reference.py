"""PyTorch and NumPy references for Gradient Lab's engine benchmark (issue 2, "Speed").

Run with Debian's interpreter, one BLAS thread, e.g.:

  OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 \
  LD_LIBRARY_PATH=/usr/lib/x86_64-linux-gnu/openblas-pthread \
  /usr/bin/python3 bench/python/reference.py [--workloads W1,W2] [--impls torch,numpy] [--repeats 5]

Every workload is float64: SGD, clip-norm 1.0 every step (the global norm computed as
torch.nn.utils.clip_grad_norm_ does), and per step the loss, the pre-clip global norm and every
per-layer weight-gradient norm recorded as Python floats. Weights N(0, (gain/sqrt(fanIn))^2)
(W1: 1.5*I), biases 0, MSE loss. One JSON line per workload and implementation on stdout.

The engine's step-by-step agreement with PyTorch is checked by test/engine/torch.test.ts against
fixtures made by test/engine/fixtures/torch_reference.py.
"""

import argparse
import json
import math
import os
import platform
import statistics
import sys
import time

import numpy as np

# Definitions from issue 2. "samples" is ours: the issue fixes only the batch, and a data set a
# few batches long makes every workload gather real minibatches.
WORKLOADS = {
    "W1": dict(kind="linear", depth=10, width=2, input=2, output=2, init="identity", gain=1.5,
               bias=False, batch=32, lr=1e-4, steps=1000),
    "W2": dict(kind="mlp", act="tanh", depth=20, width=64, input=64, output=1, gain=1.5,
               bias=True, batch=64, lr=0.01, steps=500),
    "W3": dict(kind="rnn", hidden=64, input=8, output=1, T=100, gain=1.0, bias=True,
               batch=16, lr=0.01, steps=200),
    "W4": dict(kind="mlp", act="relu", depth=8, width=256, input=256, output=10,
               gain=math.sqrt(2.0), bias=True, batch=128, lr=0.01, steps=200),
}
SAMPLES = 1024
MAX_NORM = 1.0
MIN_REPEAT_SECONDS = 0.5  # as bench/engine.ts


def layer_shapes(w):
    """[(out, in)] of the dense layers of a linear/mlp workload."""
    dims = [w["input"]] + [w["width"]] * (w["depth"] - 1) + [w["output"]]
    return [(dims[i + 1], dims[i]) for i in range(w["depth"])]


def init_params(w, rng):
    """Weights as float64 numpy arrays, drawn once so PyTorch and NumPy start from the same point."""
    if w["kind"] == "rnn":
        h, i, o, g = w["hidden"], w["input"], w["output"], w["gain"]
        return {
            "Wxh": rng.standard_normal((h, i)) * (g / math.sqrt(i)),
            "Whh": rng.standard_normal((h, h)) * (g / math.sqrt(h)),
            "bh": np.zeros(h),
            "Why": rng.standard_normal((o, h)) * (g / math.sqrt(h)),
            "by": np.zeros(o),
        }
    ws, bs = [], []
    for out, inp in layer_shapes(w):
        if w.get("init") == "identity":
            ws.append(np.eye(out, inp) * w["gain"])
        else:
            ws.append(rng.standard_normal((out, inp)) * (w["gain"] / math.sqrt(inp)))
        bs.append(np.zeros(out) if w["bias"] else None)
    return {"W": ws, "b": bs}


def make_data(w, rng):
    if w["kind"] == "rnn":
        x = rng.standard_normal((SAMPLES, w["T"], w["input"]))
    else:
        x = rng.standard_normal((SAMPLES, w["input"]))
    y = rng.standard_normal((SAMPLES, w["output"]))
    return x, y


def batches(w, steps, seed):
    """Minibatch indices: a fresh permutation per epoch, consecutive slices of it."""
    rng = np.random.default_rng(seed + 1)
    b = w["batch"]
    perm, pos = rng.permutation(SAMPLES), 0
    for _ in range(steps):
        if pos + b > SAMPLES:
            perm, pos = rng.permutation(SAMPLES), 0
        yield perm[pos:pos + b]
        pos += b


# ---------------------------------------------------------------- NumPy (hand-written backward)

def sumsq(a):
    v = a.ravel()
    return float(np.dot(v, v))


def run_numpy(w, params, data, seed):
    x_all, y_all = data
    steps, lr = w["steps"], w["lr"]
    losses = np.empty(steps)
    norms = np.empty(steps)
    if w["kind"] == "rnn":
        Wxh, Whh, bh, Why, by = (params[k].copy() for k in ("Wxh", "Whh", "bh", "Why", "by"))
        layer_norms = np.empty((steps, 3))
        T = w["T"]
        for s, idx in enumerate(batches(w, steps, seed)):
            xs = np.ascontiguousarray(x_all[idx].transpose(1, 0, 2))  # [T][B][in]
            yb = y_all[idx]
            B = yb.shape[0]
            hs = [np.zeros((B, Wxh.shape[0]))]
            for t in range(T):
                hs.append(np.tanh(xs[t] @ Wxh.T + hs[-1] @ Whh.T + bh))
            out = hs[-1] @ Why.T + by
            diff = out - yb
            losses[s] = float(np.mean(diff * diff))
            dout = diff * (2.0 / diff.size)
            gWhy = dout.T @ hs[-1]
            gby = dout.sum(0)
            dh = dout @ Why
            gWxh = np.zeros_like(Wxh)
            gWhh = np.zeros_like(Whh)
            gbh = np.zeros_like(bh)
            for t in range(T, 0, -1):
                dz = dh * (1.0 - hs[t] * hs[t])
                gWxh += dz.T @ xs[t - 1]
                gWhh += dz.T @ hs[t - 1]
                gbh += dz.sum(0)
                dh = dz @ Whh
            grads = (gWxh, gWhh, gbh, gWhy, gby)
            sq = [sumsq(g) for g in grads]
            layer_norms[s] = (math.sqrt(sq[0]), math.sqrt(sq[1]), math.sqrt(sq[3]))
            total = math.sqrt(sum(sq))
            norms[s] = total
            coef = min(MAX_NORM / (total + 1e-6), 1.0)
            step = lr * coef
            for p, g in zip((Wxh, Whh, bh, Why, by), grads):
                p -= step * g
        return losses, norms, layer_norms

    Ws = [p.copy() for p in params["W"]]
    bs = [None if p is None else p.copy() for p in params["b"]]
    L = len(Ws)
    act = w.get("act", "identity")
    layer_norms = np.empty((steps, L))
    for s, idx in enumerate(batches(w, steps, seed)):
        xb, yb = x_all[idx], y_all[idx]
        xs = [xb]
        zs = []
        for l in range(L):
            z = xs[-1] @ Ws[l].T
            if bs[l] is not None:
                z += bs[l]
            zs.append(z)
            if l < L - 1:
                xs.append(np.tanh(z) if act == "tanh" else np.maximum(z, 0.0) if act == "relu" else z)
        diff = zs[-1] - yb
        losses[s] = float(np.mean(diff * diff))
        dz = diff * (2.0 / diff.size)
        gW = [None] * L
        gb = [None] * L
        for l in range(L - 1, -1, -1):
            gW[l] = dz.T @ xs[l]
            if bs[l] is not None:
                gb[l] = dz.sum(0)
            if l > 0:
                dx = dz @ Ws[l]
                if act == "tanh":
                    dz = dx * (1.0 - xs[l] * xs[l])
                elif act == "relu":
                    dz = dx * (zs[l - 1] > 0.0)
                else:
                    dz = dx
        sqw = [sumsq(g) for g in gW]
        sqb = [sumsq(g) for g in gb if g is not None]
        layer_norms[s] = np.sqrt(sqw)
        total = math.sqrt(sum(sqw) + sum(sqb))
        norms[s] = total
        coef = min(MAX_NORM / (total + 1e-6), 1.0)
        step = lr * coef
        for l in range(L):
            Ws[l] -= step * gW[l]
            if bs[l] is not None:
                bs[l] -= step * gb[l]
    return losses, norms, layer_norms


# ---------------------------------------------------------------- PyTorch (autograd)

def torch_model(torch, w, params):
    f64 = torch.float64
    if w["kind"] == "rnn":
        p = {k: torch.tensor(params[k], dtype=f64, requires_grad=True) for k in params}
        weights = [p["Wxh"], p["Whh"], p["Why"]]
        allp = [p["Wxh"], p["Whh"], p["bh"], p["Why"], p["by"]]
        act = torch.tanh

        def forward(xb):
            h = torch.zeros(xb.shape[0], p["Whh"].shape[0], dtype=f64)
            xw = xb @ p["Wxh"].T  # [B][T][H]: the input projection of every step at once
            for t in range(xb.shape[1]):
                h = act(xw[:, t] + h @ p["Whh"].T + p["bh"])
            return h @ p["Why"].T + p["by"]

        return forward, weights, allp
    Ws = [torch.tensor(m, dtype=f64, requires_grad=True) for m in params["W"]]
    bs = [None if b is None else torch.tensor(b, dtype=f64, requires_grad=True) for b in params["b"]]
    act_name = w.get("act", "identity")
    act = {"tanh": torch.tanh, "relu": torch.relu, "identity": lambda z: z}[act_name]
    F = torch.nn.functional

    def forward(xb):
        h = xb
        for l, (W, b) in enumerate(zip(Ws, bs)):
            h = F.linear(h, W, b)
            if l < len(Ws) - 1:
                h = act(h)
        return h

    return forward, Ws, Ws + [b for b in bs if b is not None]


def run_torch(torch, w, params, data, seed):
    forward, weights, allp = torch_model(torch, w, params)
    x_all = torch.from_numpy(data[0])
    y_all = torch.from_numpy(data[1])
    opt = torch.optim.SGD(allp, lr=w["lr"])
    steps = w["steps"]
    losses = np.empty(steps)
    norms = np.empty(steps)
    layer_norms = np.empty((steps, len(weights)))
    for s, idx in enumerate(batches(w, steps, seed)):
        ti = torch.from_numpy(idx)
        xb, yb = x_all[ti], y_all[ti]
        opt.zero_grad(set_to_none=True)
        loss = torch.nn.functional.mse_loss(forward(xb), yb)
        loss.backward()
        losses[s] = loss.item()
        layer_norms[s] = torch.stack([p.grad.norm() for p in weights]).tolist()
        norms[s] = float(torch.nn.utils.clip_grad_norm_(allp, MAX_NORM))
        opt.step()
    return losses, norms, layer_norms


# ---------------------------------------------------------------- timing

def bench(impl, name, repeats, seed=0):
    w = WORKLOADS[name]
    rng = np.random.default_rng(seed)
    params = init_params(w, rng)
    data = make_data(w, rng)
    if impl == "torch":
        import torch

        torch.set_num_threads(1)
        run = lambda: run_torch(torch, w, params, data, seed)  # noqa: E731
    else:
        run = lambda: run_numpy(w, params, data, seed)  # noqa: E731
    result = run()  # warm-up (and a sanity check below)
    if not np.all(np.isfinite(result[0])):
        print(f"{impl} {name}: non-finite loss", file=sys.stderr)
    # A repeat lasts at least MIN_REPEAT_SECONDS: short runs (W1) are repeated back to back.
    t0 = time.perf_counter()
    run()
    runs = max(1, math.ceil(MIN_REPEAT_SECONDS / (time.perf_counter() - t0)))
    rates = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        for _ in range(runs):
            run()
        rates.append(runs * w["steps"] / (time.perf_counter() - t0))
    return {
        "workload": name,
        "impl": "pytorch" if impl == "torch" else "numpy",
        "dtype": "float64",
        "threads": 1,
        "stepsPerSec": statistics.median(rates),
        "repeats": rates,
        "firstLoss": float(result[0][0]),
        "firstGradNorm": float(result[1][0]),
    }


def versions():
    info = {"python": platform.python_version(), "numpy": np.__version__}
    try:
        import torch

        info["torch"] = torch.__version__
    except ImportError:
        pass
    try:
        from threadpoolctl import threadpool_info

        info["blas"] = [
            {k: d.get(k) for k in ("internal_api", "version", "architecture", "num_threads", "filepath")}
            for d in threadpool_info()
        ]
    except ImportError:
        pass
    return info


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--workloads", default="W1,W2,W3,W4")
    ap.add_argument("--impls", default="numpy,torch")
    ap.add_argument("--repeats", type=int, default=5)
    args = ap.parse_args()
    print(json.dumps({"versions": versions(), "env": {k: os.environ.get(k) for k in (
        "OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "OPENBLAS_CORETYPE", "LD_LIBRARY_PATH")}}), flush=True)
    for name in args.workloads.split(","):
        for impl in args.impls.split(","):
            print(json.dumps(bench(impl, name, args.repeats)), flush=True)


if __name__ == "__main__":
    main()
