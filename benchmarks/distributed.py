"""Data-parallel training side by side: minidl on 1 process and on MPI ranks, and PyTorch.

    MINIDL_DATA=path/to/data python benchmarks/distributed.py               # report B's LSTM, one epoch
    python benchmarks/distributed.py --steps 100                              # its first 100 batches only
    python benchmarks/distributed.py --model resnet20 --data path/to/cifar-10-batches-bin --steps 30
    python benchmarks/distributed.py --model resnet20 --synthetic --steps 30  # random 32x32 images
    python benchmarks/distributed.py --quick                                  # smoke test: synthetic, 3 steps
    python benchmarks/distributed.py --json out.json                          # also write everything

One command prints the whole table, in Markdown for ``benchmarks/README.md``. Setups, each
in a fresh process (a BLAS library reads its thread count when it loads), one after the other:

* ``1x1``: minidl, one process, ``OPENBLAS_NUM_THREADS=1``;
* ``1x2``: minidl, one process, two BLAS threads (NumPy's elementwise code stays on one
  core: only the GEMMs use the second);
* ``mpi``: minidl, ``mpiexec -n 2`` (``--ranks``), one BLAS thread each, every global batch
  split across the ranks (``--balance``: by work, the default, or by count) and the
  gradients all-reduced (:mod:`minidl.distributed`), every rank running Adam over all the
  parameters;
* ``zero``: the same, with the optimizer sharded (:class:`minidl.sharded_optim.ShardedOptimizer`,
  ZeRO stage 1): the gradient reduce-scattered (its "all-reduce" column is that
  reduce-scatter), each rank runs Adam on its 1/p of the parameters, then an all-gather
  (inside the optimizer step);
* ``torch1``, ``torch2``: PyTorch, ``torch.set_num_threads(1)`` and ``(2)``, the same
  batches (minidl's loaders) in the same order; skipped when ``torch`` does not import.

The models (float32, cross-entropy, Adam(1e-3)):

* ``--model lstm`` (default): report B's Embedding(20001, 64) → LSTM(64, 64) → Linear(64, 64)
  → ReLU → Dropout(0.5) → Linear(64, 2), batch 64, reviews cut to their last 300 tokens,
  bucketed batches (seed 0). PyTorch runs ``benchmarks/imdb_torch.py``'s twin (``TorchImdb``)
  from minidl's starting weights, its training step (``train_step``). Default: one epoch.
* ``--model resnet20``: report E's CPU-scale ResNet-20 on CIFAR-10 (``--data``: a
  ``cifar-10-batches-bin`` folder; ``--synthetic``: random images), batch 128, report E's
  augmentation (random crop 4, flips) in the loader. PyTorch runs ``benchmarks/torch_twins.py``'s
  ``TorchResNet`` (minidl's parameter names) from minidl's starting weights. Default: 30 steps.
  **BatchNorm under data parallelism**: each rank normalises with the statistics of its
  shard (a "ghost batch" of 64 for 2 ranks), not of the global batch, so the ranks' step is
  not the one-process step to the bit, and their running statistics differ
  (``docs/data-parallel.md``, "Where it does not hold"); the arithmetic per step is the same.

Reported per setup: the wall time of the timed steps (an epoch or ``--steps`` batches,
data loading and augmentation included, test-set evaluation never run), the median step
(shard, forward, backward, all-reduce, optimizer step), the median time inside
``allreduce_gradients`` (this includes waiting for the slower rank) and its share of the
median step, the all-reduce alone (the same buffer, after the ranks have met, median of 20),
the speed-up against the same library's one-thread process (ideal for two cores: 2x) and
the ratio to PyTorch on two threads. The LSTM's ratios compare epoch (or ``--steps``) wall
times, as the issue's epoch goal does; ResNet-20's compare median steps. The machine's
load average (``os.getloadavg()``) is recorded at the start and at the end.

Run it on a quiet machine: with other processes on the cores the numbers mean little.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import sys

from allocator import add_allocator_flag, apply_allocator  # the script's folder; imports no NumPy
from torch_kernels import (  # imports no torch
    add_torch_flags,
    apply_torch_flags,
    flush_denormal_state,
    onednn_state,
    torch_flags_argv,
)

SETUPS = ("1x1", "1x2", "mpi", "zero", "torch1", "torch2")
DEFAULT_BATCH = {"lstm": 64, "resnet20": 128}


def _parse(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--model", choices=sorted(DEFAULT_BATCH), default="lstm")
    p.add_argument("--steps", type=int, default=None,
                   help="time the first N global batches (default: lstm a whole epoch, resnet20 30)")
    p.add_argument("--batch", type=int, default=None, help="global batch size (default: lstm 64, resnet20 128)")
    p.add_argument("--limit", type=int, default=None, help="use N training examples (default: the whole split)")
    p.add_argument("--data", default=None,
                   help="aclImdb folder or archive (lstm), cifar-10-batches-bin folder (resnet20); "
                        "default: $MINIDL_DATA, then the cache")
    p.add_argument("--cache-dir", default=None, help="where the parsed IMDB cache goes (default: minidl's)")
    p.add_argument("--synthetic", action="store_true", help="random reviews of IMDB-like lengths / random images")
    p.add_argument("--quick", action="store_true",
                   help="smoke test: --synthetic, 3 steps, 256 examples (resnet20: batch 16)")
    p.add_argument("--ranks", type=int, default=2, help="ranks of the MPI setups")
    p.add_argument("--balance", choices=["work", "count"], default="work",
                   help="how the MPI setups cut a batch of reviews: balanced work (rows x longest review) or rows")
    p.add_argument("--only", default="", help=f"comma-separated setups of {','.join(SETUPS)} (default: all)")
    p.add_argument("--json", default=None, help="also write the results, the conditions and the table here")
    add_allocator_flag(p)
    add_torch_flags(p)
    # the worker side: one setup, in this process
    p.add_argument("--worker", choices=["minidl", "torch"], default=None, help=argparse.SUPPRESS)
    p.add_argument("--threads", type=int, default=1, help=argparse.SUPPRESS)
    p.add_argument("--out", default=None, help=argparse.SUPPRESS)
    p.add_argument("--zero", action="store_true", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.quick:
        args.synthetic, args.limit, args.steps = True, args.limit or 256, args.steps or 3
        if args.model == "resnet20":
            args.batch = args.batch or 16
    args.batch = args.batch or DEFAULT_BATCH[args.model]
    if args.steps is None and args.model == "resnet20":
        args.steps = 30
    for flag in ("steps", "batch", "limit", "ranks"):
        value = getattr(args, flag)
        if value is not None and value < 1:
            p.error(f"--{flag} must be a positive integer, got {value}")
    unknown = [s for s in args.only.split(",") if s and s not in SETUPS]
    if unknown:
        p.error(f"--only: unknown setup(s) {unknown}; expected a comma-separated subset of {','.join(SETUPS)}")
    return args


ARGS = _parse()
if ARGS.worker:  # BLAS and OpenMP read their thread counts when they load: set them before any import
    for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[var] = str(ARGS.threads)

import importlib.metadata  # noqa: E402
import importlib.util  # noqa: E402
import json  # noqa: E402
import platform  # noqa: E402
import shutil  # noqa: E402
import statistics  # noqa: E402
import subprocess  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402

import numpy as np  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, ROOT)


# ----------------------------------------------------------------------------- the data
def load_reviews(args):
    """(ids (N, 300), labels (N,), lengths (N,)) of the IMDB training split, or random ones."""
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


def load_images(args):
    """The CIFAR-10 training split as an ImageSplit of uint8 (N, 3, 32, 32), or random images."""
    from minidl.data.cifar10 import ImageSplit, load_cifar10

    if args.synthetic:
        rng = np.random.default_rng(0)
        n = args.limit or args.batch * (args.steps or 1)
        return ImageSplit(rng.integers(0, 256, size=(n, 3, 32, 32), dtype=np.uint8),
                          rng.integers(0, 10, size=n).astype(np.int64))
    return load_cifar10(args.data, limit=args.limit, seed=0).train


def make_loader(args):
    """The global batches, the same for every setup: report B's bucketed loader, or report
    E's CIFAR loader (normalised with the split's statistics, random crop 4 and flips)."""
    if args.model == "lstm":
        from minidl.data.batching import BatchLoader

        ids, labels, lengths = load_reviews(args)
        return BatchLoader(ids, labels, lengths, batch_size=args.batch, shuffle=True, seed=0, bucket=True)
    from minidl.data.cifar10 import CifarLoader, channel_stats

    train = load_images(args)
    mean, std = channel_stats(train.images)
    return CifarLoader(train, args.batch, mean=mean, std=std, shuffle=True, seed=0, crop_padding=4, flip=True)


# ----------------------------------------------------------------------------- one setup
def minidl_model(args):
    """A fresh minidl model (seed 0) and how to call it on a batch."""
    import minidl

    minidl.manual_seed(0)
    if args.model == "lstm":
        from minidl.models import ImdbClassifier

        return ImdbClassifier(20001, 64, 64, dropout=0.5), lambda m, b: m(b.x, b.lengths)
    from minidl.models.resnet import resnet20

    return resnet20(), lambda m, b: m(b.x)


def minidl_step(args, dist, reduce_times):
    """fit's training step (shard, forward, backward, all-reduce, Adam, sharded with
    ``--zero``); the all-reduce is timed apart into ``reduce_times``. Returns (step, params)."""
    from minidl import nn, optim
    from minidl.sharded_optim import ShardedOptimizer

    model, forward = minidl_model(args)
    params = model.parameters()
    opt = optim.Adam(params, lr=1e-3)
    if args.zero:
        opt = ShardedOptimizer(opt, dist)
    dist.balance = args.balance
    loss_fn = nn.CrossEntropyLoss()
    dist.broadcast_parameters(model)

    def step(batch):
        global_n = len(batch.y)
        batch = dist.shard(batch)
        local_n = len(batch.y)
        if local_n:
            loss_fn(forward(model, batch), batch.y)
            model.backward(loss_fn.backward())
        t = time.perf_counter()
        if args.zero:  # the reduce-scatter: each rank receives the summed chunk it updates
            opt.reduce_gradients(local_n, global_n)
        else:
            dist.allreduce_gradients(params, local_n, global_n)
        reduce_times.append(time.perf_counter() - t)
        opt.step()
        opt.zero_grad()

    return step, params


def _load_benchmark(name):
    """Another script of this folder as a module (they are scripts, not a package)."""
    spec = importlib.util.spec_from_file_location(f"_bench_{name}", os.path.join(HERE, f"{name}.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def torch_step(args):
    """PyTorch's training step on the same batches. Returns (step, number of parameters, the
    settings the process really has: ``{"torch_onednn": "on"/"off", "torch_flush_denormal": ...}``)."""
    import torch

    import minidl

    torch.set_num_threads(args.threads)
    apply_torch_flags(args, torch)  # a process of its own: no minidl here
    torch.manual_seed(0)
    ours, _ = minidl_model(args)  # the twin starts from the minidl setups' weights
    if args.model == "lstm":
        imdb_torch = _load_benchmark("imdb_torch")
        model = imdb_torch.TorchImdb(20001, 64, 64, "lstm", fc_dim=64, dropout=0.5)
    else:
        model = _load_benchmark("torch_twins").TorchResNet([3, 3, 3], [16, 32, 64], num_classes=10)
    model.load_state_dict({k: torch.tensor(minidl.asnumpy(v)) for k, v in ours.state_dict().items()}, strict=True)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    loss_fn = torch.nn.CrossEntropyLoss()
    if args.model == "lstm":
        def step(batch):
            imdb_torch.train_step(model, opt, loss_fn, batch)
    else:
        def step(batch):
            opt.zero_grad()
            loss_fn(model(torch.from_numpy(batch.x)), torch.from_numpy(batch.y)).backward()
            opt.step()

    model.train()
    settings = {"torch_onednn": onednn_state(torch), "torch_flush_denormal": flush_denormal_state(torch)}
    return step, sum(p.numel() for p in model.parameters()), settings


def time_steps(loader, step, steps):
    """Run ``step`` on the loader's first ``steps`` batches (None: one epoch).

    Returns (wall seconds, loading included; the steps' own seconds; a digest of the
    batches' row indices, equal across setups when they trained on the same batches)."""
    step_times, digest = [], hashlib.sha256()
    t0 = time.perf_counter()
    for i, batch in enumerate(loader):
        if steps is not None and i >= steps:
            break
        t = time.perf_counter()
        step(batch)
        step_times.append(time.perf_counter() - t)
        digest.update(np.ascontiguousarray(batch.index, dtype=np.int64).tobytes())  # outside the timing
    return time.perf_counter() - t0, step_times, digest.hexdigest()[:16]


def _ms(seconds):
    return round(1e3 * seconds, 3)


def worker(args):
    """One setup in this process; rank 0 (or the only process) writes its row to ``--out``."""
    apply_allocator(args.allocator)  # either library, as the examples' command line does (minidl.cli.run)
    loader = make_loader(args)
    row = {"framework": args.worker, "threads": args.threads, "world_size": 1}
    reduce_times = []
    if args.worker == "torch":
        step, row["gradient_floats"], settings = torch_step(args)
        row.update(settings)
        is_root = True
    else:
        from minidl import distributed

        dist = distributed.init()
        step, params = minidl_step(args, dist, reduce_times)
        row.update(world_size=dist.world_size, gradient_floats=int(sum(p.data.size for p in params)),
                   optimizer="sharded" if args.zero else "whole", balance=args.balance)
        is_root = dist.is_root
        dist.allreduce_sum(0)  # start together
    seconds, step_times, batches = time_steps(loader, step, args.steps)
    row.update(steps=len(step_times), batches_digest=batches, seconds=round(seconds, 3),
               step_ms=_ms(statistics.median(step_times)), step_times_ms=[_ms(t) for t in step_times],
               allreduce_in_step_ms=None, allreduce_alone_ms=None, allreduce_share=None)
    if args.worker == "minidl" and dist.world_size > 1:  # one process: the all-reduce is a no-op
        alone = []
        for _ in range(20):  # the all-reduce by itself: the ranks meet first, then reduce
            dist.allreduce_sum(0)
            t = time.perf_counter()
            dist.allreduce_gradients(params, 1 if dist.is_root else 0, 1)
            alone.append(time.perf_counter() - t)
        row.update(allreduce_in_step_ms=_ms(statistics.median(reduce_times)),
                   allreduce_alone_ms=_ms(statistics.median(alone)))
        row["allreduce_share"] = round(row["allreduce_in_step_ms"] / row["step_ms"], 4) if row["step_ms"] else None
    if is_root and args.out:
        from minidl.fileio import atomic_write_text

        atomic_write_text(args.out, json.dumps(row))


# ----------------------------------------------------------------------------- all setups
def setup_table(ranks):
    """key -> (label, framework, processes, threads)."""
    return {"1x1": ("minidl, 1 process × 1 thread", "minidl", 1, 1),
            "1x2": ("minidl, 1 process × 2 threads", "minidl", 1, 2),
            "mpi": (f"minidl, {ranks} ranks × 1 thread", "minidl", ranks, 1),
            "zero": (f"minidl, {ranks} ranks × 1 thread, sharded Adam", "minidl", ranks, 1),
            "torch1": ("PyTorch, 1 thread", "torch", 1, 1),
            "torch2": ("PyTorch, 2 threads", "torch", 1, 2)}


def forward_args(args):
    out = ["--model", args.model, "--batch", str(args.batch), "--balance", args.balance, "--allocator", args.allocator,
           *torch_flags_argv(args)]
    for flag in ("steps", "limit", "data", "cache_dir"):
        value = getattr(args, flag)
        if value is not None:
            out += [f"--{flag.replace('_', '-')}", str(value)]
    return out + (["--synthetic"] if args.synthetic else [])


def run_setup(key, framework, ranks, threads, args, tmp):
    out = os.path.join(tmp, f"{key}.json")
    cmd = [sys.executable, os.path.abspath(__file__), "--worker", framework, "--threads", str(threads),
           "--out", out] + forward_args(args) + (["--zero"] if key == "zero" else [])
    if ranks > 1:
        # the venv's own launcher first: it belongs to the MPI library mpi4py was built against
        beside = os.path.join(os.path.dirname(sys.executable), "mpiexec")
        mpiexec = beside if os.path.exists(beside) else shutil.which("mpiexec") or "mpiexec"
        cmd = [mpiexec, "-n", str(ranks)] + cmd
    env = dict(os.environ, PYTHONPATH=ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""))
    subprocess.run(cmd, check=True, env=env)
    with open(out, encoding="utf-8") as f:
        return json.load(f)


def _version(dist_name):
    try:
        return importlib.metadata.version(dist_name)
    except importlib.metadata.PackageNotFoundError:
        return None


def conditions(args, chosen, skipped):
    """What the table was measured on and with (the load average is added at the end)."""
    import minidl

    try:
        commit = subprocess.run(["git", "-C", ROOT, "rev-parse", "--short", "HEAD"], capture_output=True,
                                text=True, timeout=10).stdout.strip() or None
    except OSError:
        commit = None
    what = "one epoch" if args.steps is None else f"{args.steps} steps"
    if args.model == "lstm":
        data = "synthetic reviews" if args.synthetic else "IMDB training split"
    else:
        data = "synthetic 32×32 images" if args.synthetic else "CIFAR-10 training split"
    return {"model": args.model, "what": what, "steps": args.steps, "batch": args.batch, "ranks": args.ranks,
            "balance": args.balance,
            "allocator": args.allocator, "torch_onednn": args.torch_onednn,
            "torch_flush_denormal": args.torch_flush_denormal,
            "data": data + (f" ({args.limit:,} examples)" if args.limit else ""), "data_path": args.data,
            "setups": chosen, "skipped": skipped, "date_utc": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
            "platform": platform.platform(), "cpus": os.cpu_count(), "python": platform.python_version(),
            "numpy": np.__version__, "torch": _version("torch"), "mpi4py": _version("mpi4py"),
            "mpich": _version("mpich"), "minidl": minidl.__version__, "commit": commit,
            "compiled_loops": minidl.backend.compiled_loops_status(),
            "command": " ".join(["python", os.path.relpath(os.path.abspath(__file__), os.getcwd())] + sys.argv[1:])}


def add_ratios(rows, basis):
    """speed-up against the same library's one-thread process, ratio to PyTorch 2 threads."""
    by_key = {r["key"]: r for r in rows}
    torch2 = by_key.get("torch2")
    for r in rows:
        base = by_key.get("1x1" if r["framework"] == "minidl" else "torch1")
        r["speedup"] = round(base[basis] / r[basis], 3) if base and r[basis] else None
        r["ratio_to_torch2"] = round(r[basis] / torch2[basis], 3) if torch2 and torch2[basis] else None


def _cell(value, fmt):
    return "–" if value is None else format(value, fmt)


def markdown(meta, rows, basis):
    """The table and its conditions, in Markdown."""
    load = " / ".join(f"{v:.2f}" for v in meta["load_start"]), " / ".join(f"{v:.2f}" for v in meta["load_end"])
    title = "report B's LSTM (IMDB)" if meta["model"] == "lstm" else "report E's ResNet-20 (CIFAR-10)"
    ranks = meta["ranks"]
    lines = [f"Data-parallel training, {title}: {meta['what']}, {meta['data']}, global batch {meta['batch']} "
             f"({ranks} ranks: shards of about {meta['batch'] // ranks}), float32, Adam(1e-3); {meta['date_utc']}.",
             "",
             f"* machine: {meta['platform']}, {meta['cpus']} CPUs; python {meta['python']}, numpy {meta['numpy']}, "
             f"torch {meta['torch'] or '–'}, mpi4py {meta['mpi4py'] or '–'} (MPICH {meta['mpich'] or '–'}), "
             f"minidl {meta['minidl']} at {meta['commit'] or '?'}; minidl's compiled loops: "
             f"{meta.get('compiled_loops', '–')}",
             f"* load average (1 / 5 / 15 min): {load[0]} at the start, {load[1]} at the end",
             "* threads: BLAS threads of a minidl process (`OPENBLAS_NUM_THREADS`), `torch.set_num_threads` "
             f"for PyTorch; every setup a fresh process, one after the other; allocator {meta['allocator']}; "
             f"PyTorch's oneDNN {meta['torch_onednn']}, flush-denormal {meta.get('torch_flush_denormal', 'off')}",
             f"* MPI setups: shards balanced by {meta['balance']}; \"sharded Adam\": ZeRO stage 1 "
             "(each rank updates 1/p of the parameters, then an all-gather)",
             f"* command: `{meta['command']}`"]
    if basis == "seconds":
        lines.append("* speed-up and ratio compare the wall time of the timed steps (data loading included)")
    else:
        lines.append("* speed-up and ratio compare median steps; BatchNorm on ranks normalises with each "
                     "shard's statistics (see docs/data-parallel.md)")
    if meta["skipped"]:
        lines.append(f"* skipped: {', '.join(meta['skipped'])}")
    time_col = "epoch (s)" if meta["steps"] is None else f"{meta['steps']} steps (s)"
    lines += ["", f"| setup | {time_col} | median step (ms) | all-reduce in step (ms) | all-reduce alone (ms) "
              "| all-reduce share | speed-up vs 1 thread (ideal 2×) | ÷ PyTorch 2 threads |",
              "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"]
    for r in rows:
        speed = "–" if r["speedup"] is None else f"{r['speedup']:.2f}×"
        ratio = "–" if r["ratio_to_torch2"] is None else f"{r['ratio_to_torch2']:.2f}×"
        lines.append(f"| {r['setup']} | {r['seconds']:.2f} | {r['step_ms']:.1f} "
                     f"| {_cell(r['allreduce_in_step_ms'], '.2f')} | {_cell(r['allreduce_alone_ms'], '.2f')} "
                     f"| {_cell(r['allreduce_share'], '.1%')} | {speed} | {ratio} |")
    floats = rows[0]["gradient_floats"]
    lines += ["", f"Gradient: {floats:,} floats = {4 * floats / 2**20:.2f} MiB per all-reduce; \"in step\" "
              "includes waiting for the slower rank, \"alone\" is the same all-reduce after the ranks have met."]
    return "\n".join(lines)


def main(args):
    load_start = os.getloadavg()
    setups = setup_table(args.ranks)
    chosen = [s for s in args.only.split(",") if s] or list(SETUPS)
    have_torch = importlib.util.find_spec("torch") is not None
    skipped = [] if have_torch else [f"{setups[k][0]} (torch does not import)" for k in chosen if k.startswith("torch")]
    chosen = [k for k in chosen if have_torch or not k.startswith("torch")]
    meta = conditions(args, chosen, skipped)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for key in chosen:
            label, framework, ranks, threads = setups[key]
            print(f"running {label} ...", flush=True)
            rows.append(dict(run_setup(key, framework, ranks, threads, args, tmp), key=key, setup=label))
    meta.update(load_start=list(load_start), load_end=list(os.getloadavg()))
    basis = "seconds" if args.model == "lstm" else "step_ms"
    add_ratios(rows, basis)
    table = markdown(meta, rows, basis)
    print("\n" + table)
    if args.json:
        from minidl.fileio import atomic_write_text

        atomic_write_text(args.json, json.dumps({"conditions": meta, "basis": basis, "rows": rows,
                                                 "markdown": table}, indent=1))
    return rows


if __name__ == "__main__":
    if ARGS.worker:
        worker(ARGS)
    else:
        main(ARGS)
