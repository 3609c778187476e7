"""Time to a test accuracy: report B's LSTM trained by minidl on MPI ranks and by PyTorch on
threads, one seed after the other, each run alone, on the real IMDB reviews.

    MINIDL_DATA=path/to/data python benchmarks/time_to_accuracy.py                 # seeds 0 and 1, 10 epochs
    MINIDL_DATA=path/to/data python benchmarks/time_to_accuracy.py --seeds 0 --epochs 4 --limit 2000

For each seed, in turn:

* minidl: ``OPENBLAS_NUM_THREADS=1 mpiexec -n RANKS python examples/imdb_lstm.py --seed S
  --epochs E`` (data-parallel, the optimizer sharded: the example's defaults);
* PyTorch: ``python benchmarks/imdb_torch.py --threads THREADS --seed S --epochs E``, the
  twin from minidl's start weights on minidl's batches (``--twin-masks minidl`` adds
  ``--masks minidl --mask-ranks RANKS``: the dropout masks minidl's ranks draw).

The clock starts when the command is launched. Each run prints one line per epoch as the
epoch ends (``epoch   N ...``; Python unbuffered, so the line is not held back), and an
epoch's time is the moment its line arrives: the time to a target is that of the first
epoch whose test accuracy (from ``history.json``) reaches it, so it counts Python's start,
the (cached) data load, every training step and test pass up to that epoch, and nothing the
command does after its last epoch (minidl's example evaluates its best checkpoint again and
draws its figures; the twin does neither). The ratio column is minidl / PyTorch (below 1:
minidl gets there first); "after training" is the wall time left after the last epoch.
The two runs are the same model on the same batches from the same start weights; each
library draws its own dropout masks. ``--twin-masks minidl`` gives the twin the masks
minidl's ranks draw, and the two then compute the same numbers up to float32 rounding, but
not for long: ``benchmarks/twin_divergence.py`` shows the rounding grow until the runs are
as far apart as two runs with their own masks, within the first two epochs. Which epoch
first crosses a target is the noise of training as much as speed either way.

Ten epochs by default: report B's length (until 2026-12-07 the default was 8, and seed 1's
minidl run, best 84.90% within 8, crossed 85% at epoch 9; ``benchmarks/README.md``, "Session 18").

Prints a Markdown table; ``--json FILE`` also writes every run's history and timings.
PyTorch is a reference here, never a dependency of minidl; without it only minidl runs.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)  # this checkout's minidl
from torch_kernels import add_torch_flags, torch_flags_argv  # noqa: E402  (the script's folder; imports no torch)

from minidl.history import time_to as time_to_epoch  # noqa: E402


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1])
    p.add_argument("--epochs", type=int, default=10, help="report B trains 10")
    p.add_argument("--targets", type=float, nargs="+", default=[0.85, 0.86], help="test accuracies, 0–1")
    p.add_argument("--ranks", type=int, default=2, help="minidl's MPI ranks (one BLAS thread each)")
    p.add_argument("--threads", type=int, default=2, help="PyTorch's threads (torch.set_num_threads)")
    p.add_argument("--limit", type=int, default=None, help="N reviews of each split (a quick check, not a result)")
    p.add_argument("--data", default=None, help="aclImdb folder or .tar.gz (default: $MINIDL_DATA)")
    p.add_argument("--out", default="runs/time_to_accuracy", help="the runs' output folders go here")
    p.add_argument("--twin-masks", choices=["torch", "minidl"], default="torch",
                   help="the twin's dropout masks: torch's own, or those minidl's ranks draw")
    p.add_argument("--json", default=None)
    add_torch_flags(p)
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
              "--threads", str(args.threads), "--masks", args.twin_masks, "--mask-ranks", str(args.ranks),
              *torch_flags_argv(args),
              "--out", os.path.join(out, "torch")]
    runs = [("minidl", ours, {"OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1"})]
    try:
        import torch  # noqa: F401
        runs.append(("pytorch", theirs, {"OMP_NUM_THREADS": str(args.threads)}))
    except ImportError:
        print("torch does not import: minidl only", file=sys.stderr)
    return runs, out


EPOCH_LINE = re.compile(r"^epoch\s+(\d+)\s")  # minidl's fit and the twin both print it as an epoch ends


def run(argv, env):
    """Run one command; (its wall seconds, {epoch: seconds from launch to that epoch's line}),
    or SystemExit with the end of its stderr."""
    seen = {}
    with tempfile.TemporaryFile("w+") as err:
        t0 = time.perf_counter()
        with subprocess.Popen(argv, env=dict(os.environ, PYTHONUNBUFFERED="1", **env), stdout=subprocess.PIPE,
                              stderr=err, text=True) as proc:
            for line in proc.stdout:
                m = EPOCH_LINE.match(line)
                if m:
                    seen.setdefault(int(m.group(1)), time.perf_counter() - t0)
        wall = time.perf_counter() - t0
        if proc.returncode != 0:
            err.seek(0)
            sys.exit(f"error: {' '.join(argv)} exited with {proc.returncode}:\n{err.read()[-2000:]}")
    return wall, seen


def time_to(history, seen, target):
    """(epoch, accuracy, seconds from launch to the end of that epoch) of the first epoch with
    test accuracy ≥ target, or None."""
    hit = time_to_epoch(history, target)
    if hit is None:
        return None
    row = hit[0]
    if row["epoch"] not in seen:
        sys.exit(f"error: no 'epoch {row['epoch']}' line was seen on the run's output; saw epochs {sorted(seen)}")
    return row["epoch"], row["test_acc"], seen[row["epoch"]]


def main(argv=None):
    args = parse_args(argv)
    rows, record = [], []
    for seed in args.seeds:
        runs, out = commands(args, seed)
        for name, cmd, env in runs:
            wall, seen = run(cmd, env)
            folder = os.path.join(out, "minidl" if name == "minidl" else "torch")
            with open(os.path.join(folder, "history.json")) as f:
                history = json.load(f)
            history = history["rows"] if isinstance(history, dict) else history  # the twin: {"rows": [...]}
            hits = {t: time_to(history, seen, t) for t in args.targets}
            after = wall - seen[max(seen)] if seen else None
            record.append({"seed": seed, "library": name, "command": " ".join(cmd), "env": env,
                           "wall_seconds": wall, "epoch_line_seconds": {str(e): t for e, t in sorted(seen.items())},
                           "after_training_seconds": after, "history": history,
                           "time_to": {str(t): h for t, h in hits.items()}})
            rows.append((seed, name, hits, max(r["test_acc"] for r in history), wall, seen, after))
    print_table(args, rows)
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"args": vars(args), "runs": record}, f, indent=1)


def print_table(args, rows):
    onednn = ("" if args.torch_onednn == "on" else ", oneDNN off") + \
        ("" if args.torch_flush_denormal == "off" else ", flush-denormal on")
    setup = {"minidl": f"minidl, {args.ranks} ranks × 1 thread", "pytorch": f"PyTorch, {args.threads} threads{onednn}"}
    head = (["run", "seed"] + [f"first ≥ {t:.0%}: epoch, acc, time" for t in args.targets]
            + ["best", "first epoch's line", "last epoch's line", "wall (after training)"])
    print("| " + " | ".join(head) + " |\n|" + " --- |" * len(head))
    for seed, name, hits, best, wall, seen, after in rows:
        cells = [f"{h[0]}, {h[1]:.2%}, {h[2]:.1f} s" if h else "not reached" for h in hits.values()]
        first, last = (f"{seen[min(seen)]:.1f} s", f"{seen[max(seen)]:.1f} s") if seen else ("—", "—")
        print(f"| {setup[name]} | {seed} | " + " | ".join(cells) + f" | {best:.2%} | {first} | {last} "
              f"| {wall:.1f} s ({'—' if after is None else f'{after:.1f} s'}) |")
    print()
    for t in args.targets:
        for seed in args.seeds:
            got = {n: h[t] for s, n, h, *_ in rows if s == seed}
            if got.get("minidl") and got.get("pytorch"):
                ratio = got["minidl"][2] / got["pytorch"][2]
                print(f"time to {t:.0%}, seed {seed}: minidl / PyTorch = {ratio:.2f}×")


if __name__ == "__main__":
    main()
