"""Report E's observation, measured: "our own 1-layer LSTM trains over twice as slowly as the
library's 8-layer residual LSTM".

    python benchmarks/own_lstm.py                  # report E's sizes, CPU, 1 thread
    python benchmarks/own_lstm.py --quick          # a smoke test

One training step (forward, a loss on the last state, backward) of the recurrent part at
report E's sizes (batch 64 × 300 tokens, input 200, hidden 256), in four forms per library:

* ``own-1``: a one-layer LSTM written as a student writes it — a cell stepped in a Python
  loop over the 300 time steps (minidl: ``nn.LSTMCell``; PyTorch: the four gate equations
  in torch ops, autograd doing the backward);
* ``fused-1``: the library's one-layer LSTM (``nn.LSTM``);
* ``fused-8``: the library's 8-layer LSTM;
* ``res-8``: report E's residual 8-layer stack (minidl: ``nn.ResidualStackLSTM``;
  PyTorch: eight ``nn.LSTM`` layers with the sums between them).

Variants take turns (round-robin), so load from other processes hits all alike; the table
gives the median seconds per step and each one's time relative to ``res-8``.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time


def _parse(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--steps", type=int, default=5)
    p.add_argument("--batch", type=int, default=64)
    p.add_argument("--seq-len", type=int, default=300)
    p.add_argument("--input", type=int, default=200)
    p.add_argument("--hidden", type=int, default=256)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--quick", action="store_true", help="tiny sizes, 2 steps: a smoke test")
    p.add_argument("--no-torch", action="store_true")
    a = p.parse_args(argv)
    if a.quick:
        a.steps, a.batch, a.seq_len, a.input, a.hidden = 2, 4, 6, 5, 3
    return a


ARGS = _parse()
for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[var] = str(ARGS.threads)  # BLAS reads it when it loads

import numpy as np  # noqa: E402

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from minidl import nn  # noqa: E402


def minidl_steps(a, rng):
    """name -> a function running one minidl step."""
    x = rng.standard_normal((a.seq_len, a.batch, a.input)).astype(np.float32)
    g = rng.standard_normal((a.batch, a.hidden)).astype(np.float32)
    cell = nn.LSTMCell(a.input, a.hidden)
    layers = {"fused-1": nn.LSTM(a.input, a.hidden), "fused-8": nn.LSTM(a.input, a.hidden, num_layers=8),
              "res-8": nn.ResidualStackLSTM(a.input, a.hidden, num_layers=8)}

    def own():
        h = c = None
        for t in range(a.seq_len):
            h, c = cell(x[t], None if h is None else (h, c))
        dh, dc = g, None
        for _ in range(a.seq_len):
            _, dh, dc = cell.backward(dh, dc)

    def fused(layer):
        def step():
            out, _ = layer(x)
            d_out = np.zeros_like(out)
            d_out[-1] = g
            layer.backward(d_out)
        return step

    return {"own-1": own, **{k: fused(v) for k, v in layers.items()}}


def torch_steps(a, rng):
    import torch

    torch.set_num_threads(a.threads)
    x = torch.tensor(rng.standard_normal((a.seq_len, a.batch, a.input)), dtype=torch.float32)
    g = torch.tensor(rng.standard_normal((a.batch, a.hidden)), dtype=torch.float32)
    H = a.hidden
    W = torch.nn.Parameter(torch.randn(4 * H, a.input) * 0.05)
    U = torch.nn.Parameter(torch.randn(4 * H, H) * 0.05)
    b = torch.nn.Parameter(torch.zeros(4 * H))

    def own():  # report E's "own LSTM": the equations in torch ops, a Python loop over time
        h = c = torch.zeros(a.batch, H)
        for t in range(a.seq_len):
            z = x[t] @ W.T + h @ U.T + b
            i, f, gg, o = z.chunk(4, dim=1)
            c = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(gg)
            h = torch.sigmoid(o) * torch.tanh(c)
        (h * g).sum().backward()

    one, eight = torch.nn.LSTM(a.input, H), torch.nn.LSTM(a.input, H, num_layers=8)
    res = [torch.nn.LSTM(a.input if k == 0 else H, H) for k in range(8)]

    def fused(layer):
        def step():
            out, _ = layer(x)
            (out[-1] * g).sum().backward()
        return step

    def res8():
        u = x
        for k, layer in enumerate(res):
            out, _ = layer(u)
            u = out if k == 0 else out + u
        (u[-1] * g).sum().backward()

    return {"own-1": own, "fused-1": fused(one), "fused-8": fused(eight), "res-8": res8}


def round_robin(steps: dict, n: int) -> dict:
    """Median seconds per step of each variant, the variants taking turns."""
    for f in steps.values():  # warm-up
        f()
    times = {k: [] for k in steps}
    for _ in range(n):
        for k, f in steps.items():
            t0 = time.perf_counter()
            f()
            times[k].append(time.perf_counter() - t0)
    return {k: statistics.median(v) for k, v in times.items()}


def main():
    a = ARGS
    rng = np.random.default_rng(0)
    libs = {"minidl": minidl_steps(a, rng)}
    if not a.no_torch:
        try:
            libs["pytorch"] = torch_steps(a, rng)
        except ImportError:
            pass
    print(f"batch {a.batch} x {a.seq_len} steps, input {a.input}, hidden {a.hidden}, {a.threads} thread(s); "
          f"median of {a.steps} steps, variants in turn")
    print(f"| library | {' | '.join(libs['minidl'])} |")
    print("| --- |" + " ---: |" * len(libs["minidl"]))
    results = {}
    for lib, steps in libs.items():
        med = round_robin(steps, a.steps)
        results[lib] = med
        cells = [f"{med[k]:.3f} s ({med[k] / med['res-8']:.2f}× res-8)" for k in steps]
        print(f"| {lib} | {' | '.join(cells)} |")
    return results


if __name__ == "__main__":
    main()
