"""Report B's LSTM training step timed along a training run, not only at initialisation.

    MINIDL_DATA=path/to/data python benchmarks/trained_step.py
    MINIDL_DATA=path/to/data python benchmarks/trained_step.py --at 0 150 175 391 --steps 6

``benchmarks/rnn.py`` times a step from freshly initialised weights. On a CPU that pays for
subnormal numbers that is the worst moment for a library that does not flush them: at
initialisation the gradient of report B's LSTM fades to nothing over a review, through the
subnormal range, and it stops doing so a fifth of the way into the first epoch
(``docs/tools/gradient_reach.py``, ``docs/vanishing-exploding.md``, "In a training run").
This script shows what that does to a step's time. It trains report B's model with minidl
as ``examples/imdb_lstm.py`` does (seed 0, one thread) and, at each step count of ``--at``,
times a training step (forward, cross-entropy, backward, Adam) from the weights reached there,
on one fixed batch of 64 training reviews of 300 tokens (their last 300): minidl's, PyTorch's
as installed and PyTorch's with ``torch.set_flush_denormal(True)``, each on a fresh copy of the
weights (the PyTorch twin of ``torch_twins.py`` loads them) with a fresh Adam, the median of
``--steps`` steps after one warm-up step. Beside them the gradient's reach on that batch (how
many steps back from the last ∂L/∂x_t is not 0).

All in one process, one thread, freed memory kept (``minidl.host_memory``), the libraries
taking turns; ``rnn.py`` runs each library in a process of its own, which matters for report
E's big steps (``benchmarks/README.md``, "One process or two"), not for this one. PyTorch is a
reference, never a dependency of minidl; without it only minidl's column is printed.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import sys
import time

os.environ["OPENBLAS_NUM_THREADS"] = "1"  # before NumPy loads OpenBLAS
HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, ROOT)  # this checkout's minidl
sys.path.insert(0, HERE)

import numpy as np  # noqa: E402

import minidl  # noqa: E402
from minidl import nn, optim  # noqa: E402
from minidl.data.imdb import load_imdb  # noqa: E402
from minidl.host_memory import keep_freed_memory  # noqa: E402

_TOOL = os.path.join(ROOT, "docs", "tools", "gradient_reach.py")
_spec = importlib.util.spec_from_file_location("gradient_reach", _TOOL)
gradient_reach = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(gradient_reach)  # the probe batch and the reach, as the chapter's table has them


def median_ms(step, steps):
    """The median wall time of ``steps`` calls of ``step`` after one warm-up call, in ms."""
    step()
    times = []
    for _ in range(steps):
        t0 = time.perf_counter()
        step()
        times.append(time.perf_counter() - t0)
    return 1e3 * float(np.median(times))


def minidl_step_ms(state, ids, labels, steps):
    # the copy's initialisation and dropout draw from the generator the training uses: give it back untouched
    rng = minidl.backend.get_rng_state()
    model = gradient_reach.report_b_model()
    model.load_state_dict(state)
    opt, loss_fn = optim.Adam(model.parameters(), lr=1e-3), nn.CrossEntropyLoss()

    def step():
        opt.zero_grad()
        loss_fn(model(ids), labels)
        model.backward(loss_fn.backward())
        opt.step()
    try:
        return median_ms(step, steps)
    finally:
        minidl.backend.set_rng_state(rng)


def torch_step_ms(torch, state, ids, labels, steps, flush):
    from torch_twins import TorchImdb

    twin = TorchImdb(20001, 64, 64, "lstm", 1, False, 0.0, 64, dropout=0.5)
    twin.load_state_dict({k: torch.from_numpy(v) for k, v in state.items()})  # copies into the twin
    opt, loss_fn = torch.optim.Adam(twin.parameters(), lr=1e-3), torch.nn.CrossEntropyLoss()
    t_ids, t_labels = torch.from_numpy(ids.astype(np.int64)), torch.from_numpy(labels.astype(np.int64))

    def step():
        opt.zero_grad()
        loss_fn(twin(t_ids), t_labels).backward()
        opt.step()
    torch.set_flush_denormal(flush)
    try:
        return median_ms(step, steps)
    finally:
        torch.set_flush_denormal(False)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--at", type=int, nargs="+", default=[0, 50, 100, 125, 150, 175, 200, 300, 391],
                   help="training steps at which to time (an epoch is 391)")
    p.add_argument("--steps", type=int, default=4, help="timed steps per library and point")
    p.add_argument("--length", type=int, default=300, help="the timed batch's tokens (at most 300)")
    p.add_argument("--data", default=None, help="aclImdb folder or archive (default: $MINIDL_DATA)")
    p.add_argument("--limit", type=int, default=None, help="N reviews of each split (a quick check)")
    p.add_argument("--no-torch", action="store_true")
    args = p.parse_args(argv)
    if args.steps < 1 or min(args.at) < 0 or not 1 <= args.length <= 300:
        p.error("--steps must be >= 1, --at >= 0 and --length in [1, 300]")
    torch = None
    if not args.no_torch:
        try:
            import torch
            torch.set_num_threads(1)
        except ImportError:
            torch = None

    keep_freed_memory()
    minidl.manual_seed(0)
    data = load_imdb(args.data, vocab_size=20001, max_len=300, truncate="pre", seed=0, limit=args.limit)
    model, opt, loss_fn, train = gradient_reach.report_b_training(data, seed=0)
    ids, labels = gradient_reach.probe_batch(data.train, 64, args.length, seed=1)

    print(f"Report B's LSTM training step along its training (minidl-trained weights, seed 0), batch 64 x "
          f"{args.length} tokens, one thread, median of {args.steps} steps; "
          f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}")
    print(f"* numpy {np.__version__}, torch {torch.__version__ if torch else '(not installed)'}; "
          f"load average {' / '.join(f'{v:.2f}' for v in os.getloadavg())} at the start")
    print()
    cols = ["minidl ms"] + (["PyTorch as installed ms", "PyTorch flushing ms", "minidl / flushing"] if torch else [])
    print("| training step | reach (steps back) | " + " | ".join(cols) + " |")
    print("| ---: | ---: | " + " | ".join("---:" for _ in cols) + " |")

    def report(step):
        state = {k: np.array(v, copy=True) for k, v in model.state_dict().items()}
        reach = gradient_reach.reach(gradient_reach.input_gradient_norms(model, ids, labels))
        ours = minidl_step_ms(state, ids, labels, args.steps)
        cells = [f"{ours:.1f}"]
        if torch:
            installed = torch_step_ms(torch, state, ids, labels, args.steps, flush=False)
            flushing = torch_step_ms(torch, state, ids, labels, args.steps, flush=True)
            cells += [f"{installed:.1f}", f"{flushing:.1f}", f"{ours / flushing:.2f}"]
        print(f"| {step} | {reach} | " + " | ".join(cells) + " |", flush=True)

    points = sorted(set(args.at))
    if points[0] == 0:
        report(0)
    for step in gradient_reach.training_steps(model, opt, loss_fn, train, points[-1]):
        if step in points:
            report(step)
    print(f"\nload average {' / '.join(f'{v:.2f}' for v in os.getloadavg())} at the end")


if __name__ == "__main__":
    main()
