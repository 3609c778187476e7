"""Report E's CIFAR-10 ResNet (and its plain twin), trained with minidl on the real images.

    python examples/cifar10_resnet.py --data DIR                       # ResNet-34, report E's settings
    python examples/cifar10_resnet.py --data DIR --depth 34 --width 16 --plain   # Plain-34 at 16-32-64-128
    python examples/cifar10_resnet.py --data DIR --model plain20 --limit 5000 --epochs 3
    python examples/cifar10_resnet.py --compare runs/cifar10_resnet34_w16 runs/cifar10_plain34_w16

**The nets.** ``--depth 34`` is report E's layout: a 3×3 stem without max-pool, BasicBlock
stages [3, 4, 6, 3] of widths w, 2w, 4w, 8w (stride 2 at stages 2–4), average pool and a
Linear. ``--depth 20`` is He et al.'s CIFAR net, [3, 3, 3] of widths w, 2w, 4w. ``--width``
is the base width w: report E's 64 by default for depth 34 (1.16 G multiply-adds per
image), 16 for depth 20. ``--plain`` (or ``--model plain``) removes every shortcut.
``--model resnet20`` etc. name depth and kind at once.

Report E's comparison at its depth and schedule, narrowed to what two CPU cores can train
(``--width 16``: 16-32-64-128, about 1/16 of report E's multiply-adds; ``--resume``
continues an interrupted run from its last epoch):

    python examples/cifar10_resnet.py --data DIR --depth 34 --width 16 --seed 0 --out runs/e_resnet34_w16
    python examples/cifar10_resnet.py --data DIR --depth 34 --width 16 --plain --seed 0 --out runs/e_plain34_w16
    mpiexec -n 2 python examples/cifar10_resnet.py --data DIR --depth 34 --width 16 ...   # data parallel

``DIR`` holds ``cifar-10-batches-bin/`` or ``cifar-10-binary.tar.gz`` (default:
``$MINIDL_DATA``, then the cache folder; when none holds a copy the official archive,
170 MB, SHA-256 checked, is downloaded into the cache folder; ``--no-download`` forbids it).

Defaults are report E's settings: batch 128, Adam 1e-3, 20 epochs, cross-entropy, all
50,000 training and 10,000 test images, no augmentation (report E names none; ``--augment``
adds a random crop, padding 4, and a horizontal flip). Inputs are normalised per channel with
the training set's mean and std. ``--limit N`` trains on N random training images and
``--test-limit`` evaluates on that many test images, for runs that fit a CPU.

Writes to ``--out`` (default ``runs/cifar10_<kind><depth>[_w<width>]``): ``history.json``/
``.csv`` (per epoch: ``train_loss``, ``train_acc``, ``test_loss``, ``test_acc``,
``train_seconds``, ``seconds``: the wall time of the epoch), ``summary.json`` (depth, width,
parameters, multiply-adds, settings, best and last accuracy, wall time), ``curves.png``,
``confusion.png``, ``best.npz`` and ``last.npz`` (after every epoch, for ``--resume``; a
checkpoint of another depth, width or kind is refused). ``--compare DIR ...`` draws the
histories of earlier runs on one figure instead.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from types import SimpleNamespace

import numpy as np

import minidl
from minidl import distributed, nn, optim
from minidl.cli import device, load_or_explain, positive_float, positive_int, quiet_other_ranks, run, seed
from minidl.data.cifar10 import CIFAR10_URL, CifarLoader, channel_stats, load_cifar10
from minidl.errors import CheckpointError, DataError
from minidl.fileio import atomic_write_text
from minidl.metrics import confusion_matrix, per_class_accuracy
from minidl.models import resnet
from minidl.plot import plot_confusion_matrix, plot_history, plot_runs
from minidl.runfolder import open_run_folder
from minidl.train import History, evaluate, fit

# --model: a kind, or a kind and a depth at once (the names of the recorded runs)
MODELS = {"resnet": (True, None), "plain": (False, None), "resnet20": (True, 20), "plain20": (False, 20),
          "resnet34": (True, 34), "plain34": (False, 34)}


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", choices=list(MODELS), default="resnet",
                   help="resnet or plain (no shortcuts); resnet20 etc. also set --depth")
    p.add_argument("--plain", action="store_true", help="no shortcuts (as --model plain)")
    p.add_argument("--depth", type=int, choices=sorted(resnet.LAYOUTS), default=None,
                   help="34: report E's [3,4,6,3] stages (default); 20: He et al.'s [3,3,3]")
    p.add_argument("--width", type=positive_int, default=None, metavar="W",
                   help="base width w (stages w, 2w, 4w[, 8w]); default: report E's 64 for depth 34, 16 for "
                        "depth 20. Two CPU cores want e.g. --width 16 for depth 34 (1/16 of the multiply-adds)")
    p.add_argument("--epochs", type=positive_int, default=20)
    p.add_argument("--batch-size", type=positive_int, default=128)
    p.add_argument("--lr", type=positive_float, default=1e-3)
    p.add_argument("--augment", action=argparse.BooleanOptionalAction, default=False,
                   help="random crop (padding 4) and horizontal flip of the training images (default: none, "
                        "as report E)")
    p.add_argument("--seed", type=seed, default=0)
    p.add_argument("--data", default=None, help="folder or archive (default: $MINIDL_DATA, then the cache)")
    p.add_argument("--download", action=argparse.BooleanOptionalAction, default=True,
                   help="fetch the official archive (170 MB, SHA-256 checked) when no copy is found (default); "
                        "--no-download never touches the network")
    p.add_argument("--limit", type=positive_int, default=None, help="train on N random training images")
    p.add_argument("--test-limit", type=positive_int, default=None, help="evaluate on N random test images")
    p.add_argument("--out", default=None, help="output folder (default runs/cifar10_<kind><depth>[_w<width>])")
    p.add_argument("--device", type=device, default="cpu", help="cpu or cuda")
    p.add_argument("--resume", action="store_true",
                   help="continue from OUT/last.npz (refused if it holds another depth, width or kind)")
    p.add_argument("--overwrite", action="store_true", help="delete the run in OUT and start over")
    p.add_argument("--allow-config-change", action="store_true",
                   help="with --resume: continue with settings (lr, batch, ...) that differ from the checkpoint's; "
                        "never another depth, width or kind")
    p.add_argument("--progress", choices=["auto", "on", "off"], default="auto")
    p.add_argument("--compare", nargs="+", metavar="RUN_DIR", help="plot these runs' histories together")
    args = p.parse_args(argv)
    shortcut, depth = MODELS[args.model]
    if args.plain and args.model.startswith("resnet") and args.model != "resnet":
        p.error(f"--plain contradicts --model {args.model}; use --model plain{depth} or drop --plain")
    if depth is not None and args.depth not in (None, depth):
        p.error(f"--depth {args.depth} contradicts --model {args.model} (depth {depth})")
    args.shortcut = shortcut and not args.plain
    args.depth = args.depth or depth or 34
    args.width = args.width or resnet.DEFAULT_WIDTHS[args.depth]
    args.name = f"{'resnet' if args.shortcut else 'plain'}{args.depth}"
    return args


def run_config(args) -> dict:
    """What a run is, stored in its checkpoints and compared on ``--resume`` (fit adds the
    optimizer, lr and clip_grad): the net (kind, depth, width) and the data it sees."""
    return {"model": args.name, "depth": args.depth, "width": args.width, "shortcut": args.shortcut,
            "batch_size": args.batch_size, "augment": args.augment, "seed": args.seed, "limit": args.limit,
            "test_limit": args.test_limit}


def check_resume(args, out: str) -> None:
    """Refuse, in one line and before any data is read, a ``--resume`` from a checkpoint of
    another net: its weights could not load (another width) or would mean another
    experiment (another depth or kind), so ``--allow-config-change`` does not cover it."""
    path = os.path.join(out, "last.npz")
    if not (args.resume and os.path.exists(path)):
        return
    stored = json.loads(str(minidl.load(path).get("config", "{}")))
    for key, flag, ours in (("depth", "--depth", args.depth), ("width", "--width", args.width),
                            ("model", "--model", args.name)):
        if key in stored and stored[key] != ours:
            raise CheckpointError(
                f"{flag} {ours} does not match the checkpoint {path}, trained with {flag} {stored[key]} "
                f"({stored.get('model')}, width {stored.get('width')}); resume with {flag} {stored[key]}, or "
                "start the new net in another --out")


def compare(run_dirs, out) -> str:
    runs = {}
    for d in run_dirs:
        path = os.path.join(d, "history.json")
        with open(path, encoding="utf-8") as f:
            try:
                rows = History.from_json(f.read()).rows
            except ValueError as e:
                raise DataError(f"{path} is not a history written by minidl ({e})") from None
        needed = {"epoch", "train_loss", "train_acc"}
        if not isinstance(rows, list) or not rows or not all(isinstance(r, dict) and needed <= set(r) for r in rows):
            raise DataError(f"{path} is not a history written by minidl (a JSON list of per-epoch rows)")
        runs[os.path.basename(os.path.normpath(d)).replace("cifar10_", "")] = rows
    os.makedirs(out, exist_ok=True)
    path = os.path.join(out, "compare.png")
    plot_runs(runs, path, title="CIFAR-10 (minidl): " + " vs ".join(runs))
    for name, rows in runs.items():
        best = max(rows, key=lambda r: r.get("test_acc", r["train_acc"]))
        print(f"{name:12s} epochs {len(rows):3d}  best test acc {best.get('test_acc', float('nan')):.2%} "
              f"(epoch {best['epoch']})  last train loss {rows[-1]['train_loss']:.4f}")
    print(f"figure: {path}")
    return path


def load_data(args):
    """load_cifar10, with what to do when the data are missing and the network is not there."""
    return load_or_explain(
        lambda: load_cifar10(args.data, download=args.download), download=args.download, given_path=args.data,
        what="CIFAR-10", url=CIFAR10_URL,
        offline="copy cifar-10-binary.tar.gz into {cache} (the cache folder, $MINIDL_CACHE) or pass --data DIR "
                "(a folder holding cifar-10-batches-bin/ or the archive)")


def default_out(args) -> str:
    """``runs/cifar10_resnet34_w16``; the width left out where it is the depth's default."""
    suffix = "" if args.width == resnet.DEFAULT_WIDTHS[args.depth] else f"_w{args.width}"
    return f"runs/cifar10_{args.name}{suffix}"


def prepare(args) -> SimpleNamespace:
    """The run's data, loaders and freshly initialised model (on the host), in the order
    that fixes its random draws: seed, data, subsets, model. ``benchmarks/cifar_torch.py``
    calls this too, so the PyTorch twin starts from these weights and sees these batches."""
    t_start = time.perf_counter()
    minidl.manual_seed(args.seed)
    data = load_data(args)
    rng = np.random.default_rng(args.seed)
    train, test = data.train, data.test
    if args.limit is not None and args.limit < len(train):
        train = train.subset(np.sort(rng.permutation(len(train))[: args.limit]))
    if args.test_limit is not None and args.test_limit < len(test):
        test = test.subset(np.sort(rng.permutation(len(test))[: args.test_limit]))
    mean, std = channel_stats(data.train.images)  # always the whole training set's statistics
    t_data = time.perf_counter() - t_start
    model = resnet.cifar_resnet(args.depth, args.width, shortcut=args.shortcut)
    train_loader = CifarLoader(train, args.batch_size, mean=mean, std=std, shuffle=True, seed=args.seed,
                               crop_padding=4 if args.augment else 0, flip=args.augment)
    test_loader = CifarLoader(test, 500, mean=mean, std=std, shuffle=False)
    return SimpleNamespace(data=data, train=train, test=test, mean=mean, std=std, t_data=t_data, model=model,
                           train_loader=train_loader, test_loader=test_loader)


def describe(args, model) -> dict:
    """The net and the settings, for the log line and ``summary.json``."""
    return {"model": args.name, "depth": args.depth, "width": args.width, "shortcut": args.shortcut,
            "stage_widths": resnet.stage_widths(args.depth, args.width),
            "parameters": int(sum(p.data.size for p in model.parameters())),
            "multiply_adds_per_image": resnet.conv_flops(model), "optimizer": "Adam", "lr": args.lr,
            "batch_size": args.batch_size, "epochs": args.epochs, "augment": args.augment, "seed": args.seed}


def summarize(args, hist, net: dict, wall: float, t_data: float, world_size: int) -> dict:
    """``summary.json``: what ran (net, settings, ranks) and how it went."""
    best, last = hist.best("test_acc"), hist.rows[-1]
    epochs = [r["seconds"] for r in hist.rows]
    return {**net, "best_acc": best["test_acc"], "best_epoch": best["epoch"], "last_acc": last["test_acc"],
            "last_epoch": last["epoch"], "wall_seconds": wall, "data_seconds": t_data,
            "seconds_per_epoch": sum(epochs) / len(epochs), "world_size": world_size,
            "threads": os.environ.get("OPENBLAS_NUM_THREADS"), "args": vars(args)}


def main(argv=None) -> dict:
    args = parse_args(argv)
    if args.compare:
        compare(args.compare, args.out or "runs/cifar10_compare")
        return {}
    out = args.out if args.out is not None else default_out(args)
    # under `mpiexec -n p`: one of p ranks, else one process
    dist = quiet_other_ranks(distributed.init(device=args.device))
    open_run_folder(out, resume=args.resume, overwrite=args.overwrite, is_root=dist.is_root)
    check_resume(args, out)
    t_start = time.perf_counter()
    run_ = prepare(args)
    model = run_.model.to(args.device)
    net = describe(args, run_.model)
    print(f"data: {len(run_.train)} train / {len(run_.test)} test images from {run_.data.info['source']} "
          f"({run_.t_data:.1f} s); mean {np.round(run_.mean, 4)}, std {np.round(run_.std, 4)}")
    print(f"run: {args.name}, width {args.width} (stages {net['stage_widths']}), seed {args.seed}, "
          f"batch {args.batch_size}, Adam lr {args.lr}, epochs {args.epochs}, augment {args.augment}, "
          f"ranks {dist.world_size}, numpy {np.__version__}, "
          f"BLAS threads {os.environ.get('OPENBLAS_NUM_THREADS', 'default')}, out {out}")
    print(model)
    print(f"parameters: {net['parameters']:,}; multiply-adds per image: {net['multiply_adds_per_image']:,}")
    opt = optim.Adam(model.parameters(), lr=args.lr)
    progress = {"auto": None, "on": True, "off": False}[args.progress]
    hist = fit(model, nn.CrossEntropyLoss(), opt, run_.train_loader, run_.test_loader, epochs=args.epochs,
               device=args.device, checkpoint_dir=out, resume=args.resume, progress=progress,
               config=run_config(args), allow_config_change=args.allow_config_change,
               distributed=dist if dist.world_size > 1 else None)
    wall = time.perf_counter() - t_start
    if not dist.is_root:  # rank 0 alone reads its checkpoint, writes figures and summary
        return {"history": hist.rows}

    summary = summarize(args, hist, net, wall, run_.t_data, dist.world_size)
    atomic_write_text(os.path.join(out, "summary.json"), json.dumps(summary, indent=1))
    ck = minidl.load(os.path.join(out, "best.npz"))
    model.load_state_dict(ck["model"])
    ev = evaluate(model, nn.CrossEntropyLoss(), run_.test_loader, args.device)
    cm = confusion_matrix(ev["y_true"], ev["y_pred"], num_classes=10)
    per_class = per_class_accuracy(ev["y_true"], ev["y_pred"], num_classes=10)
    title = f"CIFAR-10 {args.name}, width {args.width} (minidl)"
    plot_history(hist.rows, os.path.join(out, "curves.png"), title=f"{title}: best test acc {summary['best_acc']:.2%}")
    plot_confusion_matrix(cm, list(run_.data.classes), os.path.join(out, "confusion.png"))

    print()
    print(f"best test acc {summary['best_acc']:.2%} (epoch {summary['best_epoch']}); last {summary['last_acc']:.2%}")
    print("per-class accuracy (best): " + ", ".join(f"{c} {a:.0%}" for c, a in zip(run_.data.classes, per_class)))
    # after --resume the wall time is this process's only; the mean covers every epoch in the history
    print(f"wall time {wall:.1f} s (data {run_.t_data:.1f} s); {summary['seconds_per_epoch']:.1f} s per epoch, "
          f"the mean over all {len(hist.rows)} epochs; outputs in {out}/")
    return dict(summary, history=hist.rows)


def cli(argv=None) -> int:
    """``main`` for the command line: exit code 0, or 1 after one ``error:`` line on stderr
    (a missing or damaged data set or checkpoint, a diverged run: :mod:`minidl.cli`)."""
    return run(main, argv)


if __name__ == "__main__":
    sys.exit(cli(sys.argv[1:]))
