"""Time one LSTM layer, forward + backward, written three ways, and PyTorch's, in one run.

    python docs/tools/time_lstm.py [--batch 64] [--steps 100] [--size 64] [--repeats 7] [--threads N]

1. "textbook": four separate gate GEMMs per step for x and for h, sigmoid as 1/(1+e^-x),
   a Python-level backward per step, weight gradients accumulated step by step;
2. ``nn.LSTMCell`` stepped in a Python loop and back-propagated by popping its caches;
3. ``nn.LSTM``: the fused layer (one input GEMM, one small GEMM per step, one exp for all
   gates, local derivatives of blocks of steps at once, weight GEMMs after the loop);
4. ``torch.nn.LSTM`` on the CPU, when torch imports (never needed by minidl itself).

float32, report B's layer size by default (B = 64, D = H = 64), T = 100 steps. Prints the
median time of each over ``--repeats`` rounds (the variants take turns within a round) and
its ratio to PyTorch (or to the fused layer). Used by docs/making-it-fast.md; the numbers
are only comparable within one run.

``--threads N`` limits both BLAS libraries to N threads (OpenBLAS through its environment
variable, read when NumPy loads; torch through ``set_num_threads``). On a machine shared
with other busy processes, multi-threaded BLAS calls on small matrices can be many times
slower than single-threaded ones (threads wait for cores), so compare like with like.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time

if __name__ == "__main__" and "--threads" in sys.argv:  # must happen before NumPy loads OpenBLAS
    n = sys.argv[sys.argv.index("--threads") + 1]
    for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[var] = n

import numpy as np  # noqa: E402

import minidl  # noqa: E402
from minidl import nn  # noqa: E402


def textbook_lstm(x, h0, c0, W_ih, W_hh, b, dout):
    """Forward and backward of a per-gate, per-step LSTM, as a first implementation would do."""
    T, B, D = x.shape
    H = h0.shape[1]
    Wi, Wf, Wg, Wo = (W_ih[k * H:(k + 1) * H] for k in range(4))
    Ui, Uf, Ug, Uo = (W_hh[k * H:(k + 1) * H] for k in range(4))
    bi, bf, bg, bo = (b[k * H:(k + 1) * H] for k in range(4))

    def sigmoid(z):
        return 1.0 / (1.0 + np.exp(-z))

    h, c, caches = h0, c0, []
    for t in range(T):
        i = sigmoid(x[t] @ Wi.T + h @ Ui.T + bi)
        f = sigmoid(x[t] @ Wf.T + h @ Uf.T + bf)
        g = np.tanh(x[t] @ Wg.T + h @ Ug.T + bg)
        o = sigmoid(x[t] @ Wo.T + h @ Uo.T + bo)
        c_new = f * c + i * g
        tc = np.tanh(c_new)
        caches.append((h, c, i, f, g, o, tc))
        h, c = o * tc, c_new
    dW = [np.zeros_like(W) for W in (Wi, Wf, Wg, Wo)]
    dU = [np.zeros_like(U) for U in (Ui, Uf, Ug, Uo)]
    db = [np.zeros_like(v) for v in (bi, bf, bg, bo)]
    dx = np.empty_like(x)
    dh, dc = np.zeros_like(h0), np.zeros_like(c0)
    for t in reversed(range(T)):
        h_prev, c_prev, i, f, g, o, tc = caches[t]
        dh = dh + dout[t]
        do = dh * tc
        dc = dc + dh * o * (1 - tc * tc)
        di, df, dg = dc * g, dc * c_prev, dc * i
        dzs = [di * i * (1 - i), df * f * (1 - f), dg * (1 - g * g), do * o * (1 - o)]
        dx[t] = sum(dz @ W for dz, W in zip(dzs, (Wi, Wf, Wg, Wo)))
        dh = sum(dz @ U for dz, U in zip(dzs, (Ui, Uf, Ug, Uo)))
        for k, dz in enumerate(dzs):
            dW[k] += dz.T @ x[t]
            dU[k] += dz.T @ h_prev
            db[k] += dz.sum(axis=0)
        dc = dc * f
    return dx, np.concatenate(dW), np.concatenate(dU)


def median_times(fns: dict, repeats: int) -> dict:
    """Median wall time of each function, the functions run in turn (round-robin), so that
    a change of the machine's load hits all of them alike."""
    for fn in fns.values():
        fn()  # warm-up
    times = {name: [] for name in fns}
    for _ in range(repeats):
        for name, fn in fns.items():
            t0 = time.perf_counter()
            fn()
            times[name].append(time.perf_counter() - t0)
    return {name: statistics.median(ts) for name, ts in times.items()}


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--steps", type=int, default=100)
    ap.add_argument("--size", type=int, default=64, help="input and hidden size")
    ap.add_argument("--repeats", type=int, default=7)
    ap.add_argument("--threads", type=int, default=None, help="BLAS threads for NumPy and torch")
    args = ap.parse_args(argv)
    B, T, D = args.batch, args.steps, args.size
    H = D
    rng = np.random.default_rng(0)
    x = rng.standard_normal((T, B, D)).astype(np.float32)
    dout = rng.standard_normal((T, B, H)).astype(np.float32)
    minidl.manual_seed(0)
    lstm = nn.LSTM(D, H)
    cell = nn.LSTMCell(D, H)
    sd = lstm.state_dict()
    cell.load_state_dict({k: sd[k + "_l0"] for k in ["weight_ih", "weight_hh", "bias_ih", "bias_hh"]})
    W_ih, W_hh = sd["weight_ih_l0"], sd["weight_hh_l0"]
    b = sd["bias_ih_l0"] + sd["bias_hh_l0"]
    h0 = np.zeros((B, H), np.float32)

    def run_textbook():
        textbook_lstm(x, h0, h0, W_ih, W_hh, b, dout)

    def run_cell():
        h = c = None
        for t in range(T):
            h, c = cell(x[t], None if h is None else (h, c))
        dh = dc = None
        for t in reversed(range(T)):
            _, dh, dc = cell.backward(dout[t] if dh is None else dh + dout[t], dc)

    def run_fused():
        lstm(x)
        lstm.backward(dout)

    fns = {
        "textbook NumPy loop": run_textbook,
        "nn.LSTMCell loop": run_cell,
        "nn.LSTM (fused)": run_fused,
    }
    try:
        import torch
    except ImportError:
        torch = None
    if torch is not None:
        if args.threads:
            torch.set_num_threads(args.threads)
        t_lstm = torch.nn.LSTM(D, H)
        t_lstm.load_state_dict({k: torch.from_numpy(v) for k, v in sd.items()})
        tx = torch.from_numpy(x).requires_grad_()
        tdout = torch.from_numpy(dout)

        def run_torch():
            t_lstm.zero_grad()
            tx.grad = None
            out, _ = t_lstm(tx)
            out.backward(tdout)

        fns[f"torch.nn.LSTM {torch.__version__}"] = run_torch
    results = median_times(fns, args.repeats)
    ref_name = next((k for k in results if k.startswith("torch")), "nn.LSTM (fused)")
    ref = results[ref_name]
    blas = os.environ.get("OPENBLAS_NUM_THREADS", "default")
    print(f"LSTM({D}, {H}), B={B}, T={T}, float32, forward+backward, median of {args.repeats}; "
          f"threads: OpenBLAS {blas}, torch {torch.get_num_threads() if torch else '-'}; "
          f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    for name, t in results.items():
        print(f"  {name:26s} {1000 * t:8.1f} ms   {t / ref:5.2f}x {ref_name}")


if __name__ == "__main__":
    main()
