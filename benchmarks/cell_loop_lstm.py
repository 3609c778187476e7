"""Time the cell-loop LSTM (nn.LSTMCell stepped in Python) against the fused nn.LSTM.

    python benchmarks/cell_loop_lstm.py                  # both cases, one thread
    python benchmarks/cell_loop_lstm.py --quick          # a smoke test
    python benchmarks/cell_loop_lstm.py --json out.json  # also write the numbers

Reports B, C and E each wrote their "own LSTM" as a loop over one cell; report E found it
"extremely slow". This script measures by how much, for the two sizes the reports used,
with the same weights in both layers (same seed) and their outputs checked equal first:

* ``C-names``: report C's model, ``LSTM(57, 64)`` → ``Linear(64, 18)`` → ``LogSoftmax``,
  ``NLLLoss``, plain SGD, one name of 7 letters per step (the tutorial's loop):
  ``--model lstm`` against ``--model mylstm`` of ``examples/names_rnn.py``
  (``CharLSTM`` with the fused layer or with ``step_by_step=True``).
* ``B-imdb``: report B's recurrent layer, ``LSTM(64, 64)`` on a batch of 64 reviews of 300
  tokens, forward + backward of the layer alone (the rest of report B's model is the same
  for both): ``nn.LSTM`` against ``nn.CellLoopLSTM`` (``--cell lstm`` / ``--cell lstmcell``
  of ``examples/imdb_lstm.py``).

A step is timed as forward + backward (+ SGD update for ``C-names``); the two layers'
steps alternate in blocks so that load from other processes hits both alike; the table
gives the median ms per step and the ratio cell loop / fused. Run it on a quiet machine:
timings on a loaded one are noise. Why the loop is slower: per step it pays the input
GEMM of one step (the fused layer does all steps' input GEMM at once), packs the weights
into the gate layout again, allocates every intermediate afresh, and makes two module
calls and their checks; the fused layer runs the same gate functions on preallocated
time-major buffers.
"""

from __future__ import annotations

import argparse
import os
import sys


def _parse(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--steps", type=int, default=200, help="timed steps per layer for C-names (B-imdb: steps / 20)")
    p.add_argument("--threads", type=int, default=1, help="BLAS threads")
    p.add_argument("--quick", action="store_true", help="a few short steps: a smoke test")
    p.add_argument("--json", default=None, help="write the results here")
    return p.parse_args(argv)


ARGS = _parse()
for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):  # before NumPy loads
    os.environ[var] = str(ARGS.threads)
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

import json  # noqa: E402
import platform  # noqa: E402
import statistics  # noqa: E402
import time  # noqa: E402

import numpy as np  # noqa: E402

import minidl  # noqa: E402
from minidl import nn, optim  # noqa: E402
from minidl.models import CharLSTM  # noqa: E402


def names_step(cell_loop: bool, T: int = 7):
    """One tutorial step of report C's LSTM model on a name of T letters."""
    minidl.manual_seed(0)
    model = CharLSTM(57, 64, 18, step_by_step=cell_loop)
    opt = optim.SGD(model.parameters(), lr=0.05)
    loss = nn.NLLLoss()
    ids = np.random.default_rng(0).integers(0, 57, size=(1, T))
    y = np.array([3])

    def step():
        value = loss(model(ids, lengths=np.array([T])), y)
        model.backward(loss.backward())
        opt.step()
        opt.zero_grad()
        return float(value)

    return step


def imdb_layer_step(cell_loop: bool, T: int = 300, B: int = 64):
    """Forward + backward of report B's LSTM(64, 64) on (T, B, 64)."""
    minidl.manual_seed(0)
    layer = nn.CellLoopLSTM(64, 64) if cell_loop else nn.LSTM(64, 64)
    rng = np.random.default_rng(0)
    x = rng.standard_normal((T, B, 64)).astype(np.float32)
    lengths = rng.integers(T // 2, T + 1, size=B)
    lengths[0] = T
    dh = rng.standard_normal((1, B, 64)).astype(np.float32)

    def step():
        _, (h_n, _) = layer(x, lengths=lengths)
        layer.backward(None, dh, None)
        layer.zero_grad()
        return float(h_n.sum())

    return step


def time_pair(make, steps: int, block: int) -> dict:
    fused, loop = make(False), make(True)
    a, b = fused(), loop()  # warm-up, and the two must compute the same
    if not np.isclose(a, b, rtol=1e-4):
        raise AssertionError(f"fused and cell loop disagree: {a} vs {b}")
    times = {"fused": [], "cell_loop": []}
    done = 0
    while done < steps:
        for name, step in (("fused", fused), ("cell_loop", loop)):
            t0 = time.perf_counter()
            for _ in range(block):
                step()
            times[name].append((time.perf_counter() - t0) / block * 1e3)
        done += block
    med = {k: statistics.median(v) for k, v in times.items()}
    return {"fused_ms": med["fused"], "cell_loop_ms": med["cell_loop"], "ratio": med["cell_loop"] / med["fused"],
            "steps": done}


def main():
    steps = 10 if ARGS.quick else ARGS.steps
    cases = {
        "C-names": (names_step, steps, 10 if not ARGS.quick else 5),
        "B-imdb": ((lambda c: imdb_layer_step(c, T=30 if ARGS.quick else 300)), max(2, steps // 20), 1),
    }
    results = {}
    print(f"{'case':10s} {'fused ms':>10s} {'cell loop ms':>13s} {'loop / fused':>13s}")
    for name, (make, n, block) in cases.items():
        r = time_pair(make, n, block)
        results[name] = r
        print(f"{name:10s} {r['fused_ms']:10.3f} {r['cell_loop_ms']:13.3f} {r['ratio']:13.2f}")
    load = os.getloadavg()
    print(f"threads {ARGS.threads}, numpy {np.__version__}, python {platform.python_version()}, "
          f"load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")
    if ARGS.json:
        info = {"threads": ARGS.threads, "numpy": np.__version__, "loadavg": load,
                "date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
        with open(ARGS.json, "w", encoding="utf-8") as f:
            json.dump({"cases": results, **info}, f, indent=1)
    return results


if __name__ == "__main__":
    main()
