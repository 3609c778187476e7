"""Time report B's LSTM training on one process and on two MPI ranks, same data, same batches.

    MINIDL_DATA=../shared/data python benchmarks/distributed.py          # one epoch, three setups
    python benchmarks/distributed.py --steps 100                         # the first 100 batches only
    python benchmarks/distributed.py --quick                             # smoke test: synthetic data
    python benchmarks/distributed.py --json out.json                     # also write the table

Setups, each in a fresh process (a BLAS library reads its thread count when it loads):

* ``1 proc x 1 thread``: one process, ``OPENBLAS_NUM_THREADS=1``;
* ``1 proc x 2 threads``: one process, two BLAS threads (NumPy's elementwise code stays on
  one core: only the GEMMs use the second);
* ``2 ranks x 1 thread``: ``mpiexec -n 2``, one BLAS thread each, every global batch of 64
  split 32 + 32 and the gradients all-reduced (:mod:`minidl.distributed`).

The model is report B's: Embedding(20001, 64) → LSTM(64, 64) → Linear(64, 64) → ReLU →
Dropout(0.5) → Linear(64, 2), cross-entropy, Adam(1e-3), batch 64, reviews cut to their
last 300 tokens, bucketed batches (seed 0), float32; the step is the one
:func:`minidl.train.fit` runs (shard, forward, backward, all-reduce, optimizer step).
Reported per setup: the time of the epoch (or of ``--steps`` batches), the median step, the
median time inside ``allreduce_gradients`` (this includes waiting for the slower rank,
whose shard may hold longer reviews), the all-reduce alone (the same buffer, after the
ranks have met, median of 20) and its share of a step, and the speed-up against
``1 proc x 1 thread`` (ideal for two ranks: 2x). Test-set evaluation is not timed.

Run it on a quiet machine: with other processes on the cores the numbers mean little.
"""

from __future__ import annotations

import argparse
import os
import sys


def _parse(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--steps", type=int, default=None, help="time the first N global batches (default: a whole epoch)")
    p.add_argument("--limit", type=int, default=None, help="use N training reviews (default: all 25,000)")
    p.add_argument("--data", default=None, help="aclImdb folder or archive (default: $MINIDL_DATA, then the cache)")
    p.add_argument("--cache-dir", default=None, help="where the parsed IMDB cache goes (default: minidl's)")
    p.add_argument("--synthetic", action="store_true", help="random reviews of IMDB-like lengths, no data set")
    p.add_argument("--quick", action="store_true", help="smoke test: --synthetic, 256 reviews, 4 steps")
    p.add_argument("--ranks", type=int, default=2, help="ranks of the MPI setup")
    p.add_argument("--only", default="", help="comma-separated setups: 1x1,1x2,mpi (default: all)")
    p.add_argument("--json", default=None, help="also write the results here")
    # the worker side: one setup, in this process
    p.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    p.add_argument("--threads", type=int, default=1, help=argparse.SUPPRESS)
    p.add_argument("--out", default=None, help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.quick:
        args.synthetic, args.limit, args.steps = True, args.limit or 256, args.steps or 4
    return args


ARGS = _parse()
if ARGS.worker:  # BLAS reads its thread count when it loads: set it before NumPy is imported
    for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[var] = str(ARGS.threads)

import json  # noqa: E402
import shutil  # noqa: E402
import statistics  # noqa: E402
import subprocess  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402

import numpy as np  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)


# ----------------------------------------------------------------------------- one setup
def load_reviews(args):
    """(ids (N, 300), labels (N,), lengths (N,)) of the training split."""
    if args.synthetic:
        rng = np.random.default_rng(0)
        n = args.limit or 25000
        lengths = np.clip(rng.lognormal(np.log(180), 0.6, size=n), 10, 300).astype(np.int64)
        ids = np.zeros((n, 300), np.int64)
        for i, L in enumerate(lengths):
            ids[i, :L] = rng.integers(2, 20001, size=L)  # padding after the tokens, as load_imdb pads
        return ids, rng.integers(0, 2, size=n), lengths
    from minidl.data.imdb import load_imdb

    data = load_imdb(args.data, vocab_size=20001, max_len=300, truncate="pre", limit=args.limit, seed=0,
                     cache_dir=args.cache_dir)
    return data.train.ids, data.train.labels, data.train.lengths


def step_fn(model, loss_fn, opt, params, dist, timings):
    """fit's training step with the distributed hooks; the all-reduce is timed apart."""
    def step(batch):
        global_n = len(batch.y)
        batch = dist.shard(batch)
        local_n = len(batch.y)
        if local_n:
            out = model(batch.x, batch.lengths)
            loss_fn(out, batch.y)
            model.backward(loss_fn.backward())
        t = time.perf_counter()
        dist.allreduce_gradients(params, local_n, global_n)
        timings.append(time.perf_counter() - t)
        opt.step()
        opt.zero_grad()

    return step


def worker(args):
    import minidl
    from minidl import distributed, nn, optim
    from minidl.data.batching import BatchLoader
    from minidl.models import ImdbClassifier

    dist = distributed.init()
    minidl.manual_seed(0)
    ids, labels, lengths = load_reviews(args)
    model = ImdbClassifier(20001, 64, 64, dropout=0.5)
    params = model.parameters()
    opt = optim.Adam(params, lr=1e-3)
    loader = BatchLoader(ids, labels, lengths, batch_size=64, shuffle=True, seed=0, bucket=True)
    dist.broadcast_parameters(model)
    reduce_times, step_times = [], []
    step = step_fn(model, nn.CrossEntropyLoss(), opt, params, dist, reduce_times)
    dist.allreduce_sum(0)  # start together
    t0 = time.perf_counter()
    for i, batch in enumerate(loader):
        if args.steps is not None and i >= args.steps:
            break
        t = time.perf_counter()
        step(batch)
        step_times.append(time.perf_counter() - t)
    seconds = time.perf_counter() - t0
    alone = []
    for _ in range(20):  # the all-reduce by itself: the ranks meet first, then reduce
        dist.allreduce_sum(0)
        t = time.perf_counter()
        dist.allreduce_gradients(params, 1 if dist.rank == 0 else 0, 1)
        alone.append(time.perf_counter() - t)
    step_ms = 1e3 * statistics.median(step_times)
    result = {"world_size": dist.world_size, "threads": args.threads, "steps": len(step_times),
              "seconds": round(seconds, 3), "step_ms": round(step_ms, 3),
              "allreduce_in_step_ms": round(1e3 * statistics.median(reduce_times), 3),
              "allreduce_alone_ms": round(1e3 * statistics.median(alone), 3),
              "gradient_floats": int(sum(p.grad.size for p in params))}
    result["allreduce_share"] = round(result["allreduce_in_step_ms"] / step_ms, 4) if step_ms else None
    if dist.is_root and args.out:
        with open(args.out, "w", encoding="utf-8") as f:
            json.dump(result, f)


# ----------------------------------------------------------------------------- all setups
def forward_args(args):
    out = []
    for flag in ("steps", "limit", "data", "cache_dir"):
        value = getattr(args, flag)
        if value is not None:
            out += [f"--{flag.replace('_', '-')}", str(value)]
    return out + (["--synthetic"] if args.synthetic else [])


def run_setup(name, ranks, threads, args, tmp):
    out = os.path.join(tmp, f"{name}.json")
    cmd = [sys.executable, os.path.abspath(__file__), "--worker", "--threads", str(threads), "--out", out]
    cmd += forward_args(args)
    if ranks > 1:
        mpiexec = shutil.which("mpiexec") or os.path.join(os.path.dirname(sys.executable), "mpiexec")
        cmd = [mpiexec, "-n", str(ranks)] + cmd
    env = dict(os.environ, PYTHONPATH=ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""))
    subprocess.run(cmd, check=True, env=env)
    with open(out, encoding="utf-8") as f:
        return dict(json.load(f), setup=name)


def main(args):
    setups = {"1x1": ("1 proc x 1 thread", 1, 1), "1x2": ("1 proc x 2 threads", 1, 2),
              "mpi": (f"{args.ranks} ranks x 1 thread", args.ranks, 1)}
    chosen = [s for s in args.only.split(",") if s] or list(setups)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for key in chosen:
            label, ranks, threads = setups[key]
            print(f"running {label} ...", flush=True)
            rows.append(run_setup(key, ranks, threads, args, tmp))
            rows[-1]["setup"] = label
    base = rows[0]["seconds"] if chosen[0] == "1x1" else None
    what = f"{rows[0]['steps']} steps" if args.steps else "epoch"
    print(f"\n{'setup':22s}{what + ' s':>12s}{'step ms':>10s}{'reduce ms':>11s}{'alone ms':>10s}"
          f"{'share':>8s}{'speed-up':>10s}")
    for r in rows:
        speed = f"{base / r['seconds']:.2f}x" if base else "-"
        print(f"{r['setup']:22s}{r['seconds']:12.2f}{r['step_ms']:10.2f}{r['allreduce_in_step_ms']:11.3f}"
              f"{r['allreduce_alone_ms']:10.3f}{r['allreduce_share']:8.1%}{speed:>10s}")
    print(f"(gradient: {rows[0]['gradient_floats']:,} floats = {4 * rows[0]['gradient_floats'] / 2**20:.1f} MiB "
          "per all-reduce; 'reduce' includes waiting for the slower rank)")
    if args.json:
        with open(args.json, "w", encoding="utf-8") as f:
            json.dump(rows, f, indent=1)
    return rows


if __name__ == "__main__":
    if ARGS.worker:
        worker(ARGS)
    else:
        main(ARGS)
