"""Report E's CIFAR-10 ResNet (and its plain twin), trained with minidl on the real images.

    python examples/cifar10_resnet.py --data DIR                       # ResNet-34, report E's settings
    python examples/cifar10_resnet.py --data DIR --model plain20 --limit 5000 --epochs 3
    python examples/cifar10_resnet.py --compare runs/cifar10_resnet20 runs/cifar10_plain20

Report E's comparison at CPU scale (all 50,000 training images, the 10,000 test images
after every epoch; ``--resume`` continues an interrupted run from its last epoch):

    python examples/cifar10_resnet.py --data DIR --model resnet20 --epochs 10 --seed 0 --out runs/e_resnet20
    python examples/cifar10_resnet.py --data DIR --model plain20 --epochs 10 --seed 0 --out runs/e_plain20

``DIR`` holds ``cifar-10-batches-bin/`` or ``cifar-10-binary.tar.gz`` (default:
``$MINIDL_DATA``, then the cache folder; when none holds a copy the official archive,
170 MB, SHA-256 checked, is downloaded into the cache folder; ``--no-download`` forbids it).
From the JPEG copy in shared/: ``python ../shared/data/make_cifar10_bin.py DIR``.

Defaults are report E's settings: batch 128, Adam 1e-3, 20 epochs, cross-entropy; inputs
normalised per channel with the training set's mean and std; random crop (padding 4) and
horizontal flip on the training images (``--no-augment`` turns them off). ``--limit N``
trains on N random training images and ``--test-limit`` evaluates on that many test
images, for runs that fit a CPU.

Writes to ``--out`` (default ``runs/cifar10_<model>``): ``history.json``/``.csv`` (per
epoch: ``train_loss``, ``train_acc``, ``test_loss``, ``test_acc``, ``train_seconds``,
``seconds``), ``curves.png``, ``confusion.png``, ``best.npz`` and ``last.npz`` (after every
epoch, for ``--resume``).
``--compare DIR ...`` draws the histories of earlier runs on one figure instead.
"""

from __future__ import annotations

import argparse
import os
import sys
import time

import numpy as np

import minidl
from minidl import distributed, nn, optim
from minidl.cli import device, load_or_explain, positive_float, positive_int, quiet_other_ranks, run, seed
from minidl.data.cifar10 import CIFAR10_URL, CifarLoader, channel_stats, load_cifar10
from minidl.errors import DataError
from minidl.metrics import confusion_matrix, per_class_accuracy
from minidl.models import resnet
from minidl.plot import plot_confusion_matrix, plot_history, plot_runs
from minidl.runfolder import open_run_folder
from minidl.train import History, evaluate, fit

MODELS = {"resnet34": resnet.resnet34, "plain34": resnet.plain34, "resnet20": resnet.resnet20,
          "plain20": resnet.plain20}


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", choices=sorted(MODELS), default="resnet34")
    p.add_argument("--epochs", type=positive_int, default=20)
    p.add_argument("--batch-size", type=positive_int, default=128)
    p.add_argument("--lr", type=positive_float, default=1e-3)
    p.add_argument("--no-augment", action="store_true", help="no random crop / flip")
    p.add_argument("--seed", type=seed, default=0)
    p.add_argument("--data", default=None, help="folder or archive (default: $MINIDL_DATA, then the cache)")
    p.add_argument("--download", action=argparse.BooleanOptionalAction, default=True,
                   help="fetch the official archive (170 MB, SHA-256 checked) when no copy is found (default); "
                        "--no-download never touches the network")
    p.add_argument("--limit", type=positive_int, default=None, help="train on N random training images")
    p.add_argument("--test-limit", type=positive_int, default=None, help="evaluate on N random test images")
    p.add_argument("--out", default=None, help="output folder (default runs/cifar10_<model>)")
    p.add_argument("--device", type=device, default="cpu", help="cpu or cuda")
    p.add_argument("--resume", action="store_true", help="continue from OUT/last.npz")
    p.add_argument("--overwrite", action="store_true", help="delete the run in OUT and start over")
    p.add_argument("--progress", choices=["auto", "on", "off"], default="auto")
    p.add_argument("--compare", nargs="+", metavar="RUN_DIR", help="plot these runs' histories together")
    return p.parse_args(argv)


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


def main(argv=None) -> dict:
    args = parse_args(argv)
    if args.compare:
        compare(args.compare, args.out or "runs/cifar10_compare")
        return {}
    # under `mpiexec -n p`: one of p ranks, else one process
    dist = quiet_other_ranks(distributed.init(device=args.device))
    out = args.out if args.out is not None else f"runs/cifar10_{args.model}"
    open_run_folder(out, resume=args.resume, overwrite=args.overwrite, is_root=dist.is_root)
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
    print(f"data: {len(train)} train / {len(test)} test images from {data.info['source']} "
          f"({t_data:.1f} s); mean {np.round(mean, 4)}, std {np.round(std, 4)}")
    print(f"run: {args.model}, seed {args.seed}, batch {args.batch_size}, lr {args.lr}, epochs {args.epochs}, "
          f"augment {not args.no_augment}, numpy {np.__version__}, "
          f"BLAS threads {os.environ.get('OPENBLAS_NUM_THREADS', 'default')}, out {out}")

    model = MODELS[args.model]().to(args.device)
    print(model)
    print(f"parameters: {sum(p.data.size for p in model.parameters()):,}")
    opt = optim.Adam(model.parameters(), lr=args.lr)
    augment = not args.no_augment
    train_loader = CifarLoader(train, args.batch_size, mean=mean, std=std, shuffle=True, seed=args.seed,
                               crop_padding=4 if augment else 0, flip=augment)
    test_loader = CifarLoader(test, 500, mean=mean, std=std, shuffle=False)
    progress = {"auto": None, "on": True, "off": False}[args.progress]
    hist = fit(model, nn.CrossEntropyLoss(), opt, train_loader, test_loader, epochs=args.epochs,
               device=args.device, checkpoint_dir=out, resume=args.resume, progress=progress,
               distributed=dist if dist.world_size > 1 else None)
    wall = time.perf_counter() - t_start
    if not dist.is_root:  # rank 0 alone reads its checkpoint, writes figures and summary
        return {"history": hist.rows}

    best = hist.best("test_acc")
    ck = minidl.load(os.path.join(out, "best.npz"))
    model.load_state_dict(ck["model"])
    ev = evaluate(model, nn.CrossEntropyLoss(), test_loader, args.device)
    cm = confusion_matrix(ev["y_true"], ev["y_pred"], num_classes=10)
    per_class = per_class_accuracy(ev["y_true"], ev["y_pred"], num_classes=10)
    plot_history(hist.rows, os.path.join(out, "curves.png"),
                 title=f"CIFAR-10 {args.model} (minidl): best test acc {best['test_acc']:.2%}")
    plot_confusion_matrix(cm, list(data.classes), os.path.join(out, "confusion.png"))

    print()
    print(f"best test acc {best['test_acc']:.2%} (epoch {best['epoch']}); last {hist.rows[-1]['test_acc']:.2%}")
    print("per-class accuracy (best): " + ", ".join(f"{c} {a:.0%}" for c, a in zip(data.classes, per_class)))
    print(f"wall time {wall:.1f} s (data {t_data:.1f} s); outputs in {out}/")
    return {"best_acc": best["test_acc"], "best_epoch": best["epoch"], "wall_seconds": wall, "history": hist.rows}


def cli(argv=None) -> int:
    """``main`` for the command line: exit code 0, or 1 after one ``error:`` line on stderr
    (a missing or damaged data set or checkpoint, a diverged run: :mod:`minidl.cli`)."""
    return run(main, argv)


if __name__ == "__main__":
    sys.exit(cli(sys.argv[1:]))
