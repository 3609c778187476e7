"""PyTorch twin of examples/cifar10_resnet.py: the same net (report E's ResNet-34 or Plain-34,
or the 20-layer pair), the same start weights, the same batches in the same order, the same
optimizer, trained with torch.nn — so that the per-epoch losses of the two libraries can be
laid side by side.

    MINIDL_DATA=path/to/data python benchmarks/cifar_torch.py --depth 34 --width 16 --seed 0 --out runs/t_resnet34
    MINIDL_DATA=path/to/data python benchmarks/cifar_torch.py --depth 34 --width 16 --plain --seed 0 --threads 1

It takes the example's own flags (``--depth``, ``--width``, ``--plain``/``--model``,
``--batch-size``, ``--lr``, ``--epochs``, ``--augment``, ``--seed``, ``--limit``,
``--test-limit``, ``--data``, ``--out``) and ``--threads`` (``torch.set_num_threads``). It calls
the example's ``prepare``: the seed, the data, the subsets, the minidl model's fresh weights
(copied into :class:`~torch_twins.TorchResNet` by name) and the ``CifarLoader`` batches (the
crops and flips too, with ``--augment``) are the example's. What still differs between the
two runs is float32 rounding, amplified a little by training (Adam divides by the root of
small second moments): the losses agree closely for the first epochs and drift apart slowly.

Writes to ``--out`` (default ``runs/cifar10_torch_<kind><depth>_w<width>``) ``history.json``/
``.csv`` with the example's columns (``train_loss``, ``train_acc``, ``test_loss``,
``test_acc``, ``test_balanced_acc``, ``test_acc_class0..9``, ``train_seconds``, ``seconds``)
and ``summary.json`` (the example's fields, ``library: pytorch``, the torch version and
threads). One process, no resume. PyTorch is a reference here, never a dependency of minidl.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import math
import os
import sys
import time

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from torch_twins import TorchResNet  # noqa: E402

from minidl import asnumpy  # noqa: E402
from minidl.fileio import atomic_write_text  # noqa: E402
from minidl.metrics import Tally, balanced_accuracy_from_confusion, per_class_accuracy_from_confusion  # noqa: E402
from minidl.models import resnet  # noqa: E402
from minidl.train import History  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def load_example():
    """examples/cifar10_resnet.py as a module (its parser, ``prepare``, ``describe``)."""
    spec = importlib.util.spec_from_file_location("cifar10_resnet", os.path.join(ROOT, "examples", "cifar10_resnet.py"))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def twin_of(model, args) -> TorchResNet:
    """A :class:`TorchResNet` of ``args``' depth, width and kind holding ``model``'s weights
    and BatchNorm statistics (every name must match: ``strict``)."""
    tm = TorchResNet(list(resnet.LAYOUTS[args.depth]), resnet.stage_widths(args.depth, args.width),
                     shortcut=args.shortcut)
    state = {k: torch.from_numpy(np.array(asnumpy(v))) for k, v in model.state_dict().items()}
    tm.to(dtype=state["conv1.weight"].dtype)  # before loading: float64 weights must not pass through float32
    tm.load_state_dict(state, strict=True)
    return tm


def train_step(tm, opt, loss_fn, batch):
    """One step on a minidl ``Batch`` (x (B, 3, 32, 32), y (B,)): forward, cross-entropy,
    backward, Adam. Returns (loss, logits) as host values: a float and a (B, 10) array."""
    opt.zero_grad()
    out = tm(torch.from_numpy(np.asarray(batch.x)))
    loss = loss_fn(out, torch.from_numpy(np.asarray(batch.y, dtype=np.int64)))
    loss.backward()
    opt.step()
    return loss.item(), out.detach().numpy()


def evaluate(tm, loss_fn, loader) -> dict:
    """Loss, accuracy, balanced and per-class accuracy over ``loader`` in eval mode,
    summed as minidl's ``evaluate`` sums them (:class:`~minidl.metrics.Tally`)."""
    tm.eval()
    tally = Tally(confusion=True)
    with torch.no_grad():
        for b in loader:
            out = tm(torch.from_numpy(np.asarray(b.x)))
            loss = loss_fn(out, torch.from_numpy(np.asarray(b.y, dtype=np.int64)))
            tally.add(float(loss), out.numpy(), b.y, out.shape[1])
    tm.train()
    per_class = per_class_accuracy_from_confusion(tally.confusion)
    return {"loss": tally.loss, "acc": tally.acc, "balanced_acc": balanced_accuracy_from_confusion(tally.confusion),
            "per_class_acc": per_class}


def train_epoch(tm, opt, loss_fn, loader, epoch: int, test_loader) -> dict:
    """One epoch and its evaluation: a row of the example's history."""
    t0 = time.perf_counter()
    tm.train()
    tally = Tally()
    for b in loader:
        loss, out = train_step(tm, opt, loss_fn, b)
        if not math.isfinite(loss):
            raise FloatingPointError(f"loss is {loss} at epoch {epoch}: training diverged")
        tally.add(loss, out, b.y)
    train_seconds = time.perf_counter() - t0
    ev = evaluate(tm, loss_fn, test_loader)
    row = {"epoch": epoch, "train_loss": tally.loss, "train_acc": tally.acc, "test_loss": ev["loss"],
           "test_acc": ev["acc"], "test_balanced_acc": ev["balanced_acc"]}
    for c, a in enumerate(ev["per_class_acc"]):
        row[f"test_acc_class{c}"] = None if math.isnan(a) else float(a)
    row.update(train_seconds=round(train_seconds, 3), seconds=round(time.perf_counter() - t0, 3))
    return row


def parse_args(ex, argv):
    pre = argparse.ArgumentParser(add_help=False)
    pre.add_argument("--threads", type=int, default=None, help="torch.set_num_threads (default: torch's choice)")
    own, rest = pre.parse_known_args(argv)
    if "-h" in rest or "--help" in rest:
        print(__doc__)
    args = ex.parse_args(rest)
    for flag, given in (("--resume", args.resume), ("--compare", args.compare), ("--allow-config-change",
                        args.allow_config_change), ("--device", args.device != "cpu")):
        if given:
            pre.error(f"{flag} is the example's; the twin runs once, on the CPU")
    if own.threads is not None and own.threads < 1:
        pre.error(f"--threads must be >= 1, got {own.threads}")
    args.threads = own.threads
    return args


def main(argv=None) -> dict:
    ex = load_example()
    args = parse_args(ex, argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    t_start = time.perf_counter()
    run = ex.prepare(args)  # the example's seed, data, batches and start weights
    net = ex.describe(args, run.model)
    tm = twin_of(run.model, args)
    opt = torch.optim.Adam(tm.parameters(), lr=args.lr)
    loss_fn = torch.nn.CrossEntropyLoss()
    out = args.out or f"runs/cifar10_torch_{args.name}_w{args.width}"
    os.makedirs(out, exist_ok=True)
    print(f"torch {torch.__version__}, threads {torch.get_num_threads()}; {args.name}, width {args.width} "
          f"(stages {net['stage_widths']}), {net['parameters']:,} parameters; {len(run.train)} train / "
          f"{len(run.test)} test images; batch {args.batch_size}, Adam lr {args.lr}, augment {args.augment}")
    hist = History()
    for epoch in range(1, args.epochs + 1):
        row = train_epoch(tm, opt, loss_fn, run.train_loader, epoch, run.test_loader)
        hist.append(**row)
        hist.save(os.path.join(out, "history.json"))
        hist.save(os.path.join(out, "history.csv"))
        print(f"epoch {epoch:3d}  train loss {row['train_loss']:.4f} acc {row['train_acc']:.4f}  "
              f"test loss {row['test_loss']:.4f} acc {row['test_acc']:.4f}  ({row['seconds']:.1f} s)")
    wall = time.perf_counter() - t_start
    best, last = hist.best("test_acc"), hist.rows[-1]
    summary = {**net, "library": "pytorch", "best_acc": best["test_acc"], "best_epoch": best["epoch"],
               "last_acc": last["test_acc"], "last_epoch": last["epoch"], "wall_seconds": wall,
               "data_seconds": run.t_data, "seconds_per_epoch": sum(hist["seconds"]) / len(hist),
               "world_size": 1, "torch": torch.__version__, "threads": torch.get_num_threads(),
               "args": {k: v for k, v in vars(args).items()}}
    atomic_write_text(os.path.join(out, "summary.json"), json.dumps(summary, indent=1))
    print(f"best test acc {best['test_acc']:.2%} (epoch {best['epoch']}); last {last['test_acc']:.2%}; "
          f"wall time {wall:.1f} s; outputs in {out}/")
    return dict(summary, history=hist.rows)


if __name__ == "__main__":
    main(sys.argv[1:])
