"""Time to a test accuracy: report B's LSTM trained by minidl on MPI ranks and by PyTorch on
threads, one seed after the other, each run alone, on the real IMDB reviews.

    MINIDL_DATA=path/to/data python benchmarks/time_to_accuracy.py                 # seeds 0 and 1, 8 epochs
    MINIDL_DATA=path/to/data python benchmarks/time_to_accuracy.py --seeds 0 --epochs 4 --limit 2000

For each seed, in turn:

* minidl: ``OPENBLAS_NUM_THREADS=1 mpiexec -n RANKS python examples/imdb_lstm.py --seed S
  --epochs E`` (data-parallel, the optimizer sharded: the example's defaults);
* PyTorch: ``python benchmarks/imdb_torch.py --threads THREADS --seed S --epochs E``, the
  twin from minidl's start weights on minidl's batches.

The clock is the wall time of the whole command, so it includes Python's start, the
(cached) data load and every test pass. The time to a target is the command's start-up
(its wall time less the epochs' own seconds, from ``history.json``) plus the seconds of the
epochs up to and including the first whose test accuracy reaches it. The ratio column is
minidl / PyTorch (below 1: minidl gets there first). Two ranks draw their own dropout masks
(one stream per rank), so the two runs are the same model on the same batches, not the same
numbers: the epoch at which each crosses a target can differ by the noise of training.

Prints a Markdown table; ``--json FILE`` also writes every run's history and timings.
PyTorch is a reference here, never a dependency of minidl; without it only minidl runs.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)  # this checkout's minidl
from minidl.history import time_to as time_to_epoch  # noqa: E402


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1])
    p.add_argument("--epochs", type=int, default=8)
    p.add_argument("--targets", type=float, nargs="+", default=[0.85, 0.86], help="test accuracies, 0–1")
    p.add_argument("--ranks", type=int, default=2, help="minidl's MPI ranks (one BLAS thread each)")
    p.add_argument("--threads", type=int, default=2, help="PyTorch's threads (torch.set_num_threads)")
    p.add_argument("--limit", type=int, default=None, help="N reviews of each split (a quick check, not a result)")
    p.add_argument("--data", default=None, help="aclImdb folder or .tar.gz (default: $MINIDL_DATA)")
    p.add_argument("--out", default="runs/time_to_accuracy", help="the runs' output folders go here")
    p.add_argument("--json", default=None)
    args = p.parse_args(argv)
    if args.epochs < 1 or args.ranks < 1 or args.threads < 1:
        p.error("--epochs, --ranks and --threads must be ≥ 1")
    if not all(0 < t <= 1 for t in args.targets):
        p.error(f"--targets are accuracies in (0, 1], got {args.targets}")
    return args


def commands(args, seed):
    """(name, argv, extra environment) of the two runs of one seed."""
    common = ["--seed", str(seed), "--epochs", str(args.epochs)]
    common += ["--limit", str(args.limit)] if args.limit else []
    common += ["--data", args.data] if args.data else []
    mpiexec = shutil.which("mpiexec") or os.path.join(os.path.dirname(sys.executable), "mpiexec")
    out = os.path.join(args.out, f"s{seed}")
    ours = [mpiexec, "-n", str(args.ranks), sys.executable, os.path.join(ROOT, "examples", "imdb_lstm.py"),
            *common, "--progress", "off", "--overwrite", "--out", os.path.join(out, "minidl")]
    theirs = [sys.executable, os.path.join(ROOT, "benchmarks", "imdb_torch.py"), *common,
              "--threads", str(args.threads), "--out", os.path.join(out, "torch")]
    runs = [("minidl", ours, {"OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1"})]
    try:
        import torch  # noqa: F401
        runs.append(("pytorch", theirs, {"OMP_NUM_THREADS": str(args.threads)}))
    except ImportError:
        print("torch does not import: minidl only", file=sys.stderr)
    return runs, out


def run(argv, env):
    """Run one command; its wall seconds, or SystemExit with the end of its stderr."""
    t0 = time.perf_counter()
    done = subprocess.run(argv, env=dict(os.environ, **env), capture_output=True, text=True)
    wall = time.perf_counter() - t0
    if done.returncode != 0:
        sys.exit(f"error: {' '.join(argv)} exited with {done.returncode}:\n{done.stderr[-2000:]}")
    return wall


def time_to(history, wall, target):
    """(epoch, accuracy, seconds) of the first epoch with test accuracy ≥ target, or None;
    the seconds count the command's start-up (``wall`` less the epochs' own seconds) too."""
    hit = time_to_epoch(history, target)
    if hit is None:
        return None
    row, elapsed = hit
    startup = wall - sum(r["seconds"] for r in history)
    return row["epoch"], row["test_acc"], startup + elapsed


def main(argv=None):
    args = parse_args(argv)
    rows, record = [], []
    for seed in args.seeds:
        runs, out = commands(args, seed)
        for name, cmd, env in runs:
            wall = run(cmd, env)
            folder = os.path.join(out, "minidl" if name == "minidl" else "torch")
            with open(os.path.join(folder, "history.json")) as f:
                history = json.load(f)
            history = history["rows"] if isinstance(history, dict) else history  # the twin: {"rows": [...]}
            hits = {t: time_to(history, wall, t) for t in args.targets}
            record.append({"seed": seed, "library": name, "command": " ".join(cmd), "env": env,
                           "wall_seconds": wall, "history": history,
                           "time_to": {str(t): h for t, h in hits.items()}})
            rows.append((seed, name, hits, max(r["test_acc"] for r in history), wall))
    print_table(args, rows)
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"args": vars(args), "runs": record}, f, indent=1)


def print_table(args, rows):
    setup = {"minidl": f"minidl, {args.ranks} ranks × 1 thread", "pytorch": f"PyTorch, {args.threads} threads"}
    head = ["run", "seed"] + [f"first ≥ {t:.0%}: epoch, acc, time" for t in args.targets] + ["best", "wall"]
    print("| " + " | ".join(head) + " |\n|" + " --- |" * len(head))
    for seed, name, hits, best, wall in rows:
        cells = [f"{h[0]}, {h[1]:.2%}, {h[2]:.1f} s" if h else "not reached" for h in hits.values()]
        print(f"| {setup[name]} | {seed} | " + " | ".join(cells) + f" | {best:.2%} | {wall:.1f} s |")
    print()
    for t in args.targets:
        for seed in args.seeds:
            got = {n: h[t] for s, n, h, *_ in rows if s == seed}
            if got.get("minidl") and got.get("pytorch"):
                ratio = got["minidl"][2] / got["pytorch"][2]
                print(f"time to {t:.0%}, seed {seed}: minidl / PyTorch = {ratio:.2f}×")


if __name__ == "__main__":
    main()
