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
threads, ``resumed_after_epochs``), and after every epoch ``torch_last.npz``, the checkpoint
(:mod:`twin_checkpoint`: the net, Adam's state, torch's generator, the loader's epoch, the
history; no pickle). ``--resume`` continues an interrupted run from it, exactly: the rows,
weights and summary are those of a run that was never stopped, but for the seconds. A resume
with other settings (``--seed``, ``--width``, ``--lr`` ...) is refused in one ``error:`` line
(exit 2); a ``--resume`` with no checkpoint in ``--out`` starts from epoch 1, as the
example's does; a folder holding a run is refused without ``--resume`` or ``--overwrite``.
The same command with ``--resume`` added continues it::

    MINIDL_DATA=path/to/data python benchmarks/cifar_torch.py --depth 34 --width 16 --seed 0 --out runs/t_resnet34 \\
        --resume

torch's generator is seeded with ``--seed`` (no layer of these nets draws from it). CPU
only; PyTorch is a reference here, never a dependency of minidl.
"""

from __future__ import annotations

import argparse
import json
import os
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import example_module  # noqa: E402
import twin_loop  # noqa: E402
from torch_twins import TorchResNet  # noqa: E402

from minidl import asnumpy  # noqa: E402
from minidl.cli import run as cli_run  # noqa: E402
from minidl.fileio import atomic_write_text  # noqa: E402
from minidl.models import resnet  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def load_example():
    """examples/cifar10_resnet.py as a module (its parser, ``prepare``, ``describe``)."""
    return example_module.load_example("cifar10_resnet")


def twin_of(model, args) -> TorchResNet:
    """A :class:`TorchResNet` of ``args``' depth, width and kind holding ``model``'s weights
    and BatchNorm statistics (every name must match: ``strict``)."""
    tm = TorchResNet(list(resnet.LAYOUTS[args.depth]), resnet.stage_widths(args.depth, args.width),
                     shortcut=args.shortcut)
    state = {k: torch.from_numpy(np.array(asnumpy(v))) for k, v in model.state_dict().items()}
    tm.to(dtype=state["conv1.weight"].dtype)  # before loading: float64 weights must not pass through float32
    tm.load_state_dict(state, strict=True)
    return tm


def inputs(batch) -> tuple:
    """A minidl ``Batch``'s images as the module's input: ((B, 3, 32, 32) tensor,)."""
    return (torch.from_numpy(np.asarray(batch.x)),)


def train_step(tm, opt, loss_fn, batch):
    """One step on a minidl ``Batch`` (x (B, 3, 32, 32), y (B,)): forward, cross-entropy,
    backward, Adam. Returns (loss, logits) as host values: a float and a (B, 10) array."""
    return twin_loop.train_step(tm, opt, loss_fn, inputs(batch), torch.from_numpy(np.asarray(batch.y, np.int64)))


def settings(args) -> dict:
    """What the run is, stored in its checkpoint and compared on ``--resume`` (flag: value):
    the example's ``run_config`` and the learning rate."""
    return {"--model": args.name, "--depth": args.depth, "--width": args.width, "--batch-size": args.batch_size,
            "--lr": args.lr, "--augment": args.augment, "--seed": args.seed, "--limit": args.limit,
            "--test-limit": args.test_limit}


def parse_args(ex, argv):
    """The example's flags and ``--threads``; what only the example does (``--compare``,
    ``--allow-config-change``, a GPU) ends with one ``error:`` line, exit 2."""
    pre = argparse.ArgumentParser(prog="cifar_torch.py", add_help=False)
    pre.add_argument("--threads", type=int, default=None, help="torch.set_num_threads (default: torch's choice)")
    own, rest = pre.parse_known_args(argv)
    if "-h" in rest or "--help" in rest:
        print(__doc__)
    args = ex.parse_args(rest)
    for flag, given, why in (("--compare", args.compare, "the twin trains, it does not plot"),
                             ("--allow-config-change", args.allow_config_change,
                              "the twin resumes with its checkpoint's settings only"),
                             ("--device", args.device != "cpu", "the twin runs on the CPU")):
        if given:
            pre.error(f"{flag} is the example's: {why}")
    if own.threads is not None and own.threads < 1:
        pre.error(f"--threads must be >= 1, got {own.threads}")
    args.threads = own.threads
    return args


def main(argv=None) -> dict:
    ex = load_example()
    args = parse_args(ex, argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    out = args.out or f"runs/cifar10_torch_{args.name}_w{args.width}"
    run = twin_loop.TwinRun(out, settings(args), resume=args.resume, overwrite=args.overwrite, prog="cifar_torch.py")
    try:
        prep = ex.prepare(args)  # the example's seed, data, batches and start weights
        net = ex.describe(args, prep.model)
        torch.manual_seed(args.seed)
        tm = twin_of(prep.model, args)
        opt = torch.optim.Adam(tm.parameters(), lr=args.lr)
        loss_fn = torch.nn.CrossEntropyLoss()
        print(f"torch {torch.__version__}, threads {torch.get_num_threads()}; {args.name}, width {args.width} "
              f"(stages {net['stage_widths']}), {net['parameters']:,} parameters; {len(prep.train)} train / "
              f"{len(prep.test)} test images; batch {args.batch_size}, Adam lr {args.lr}, augment {args.augment}")
        run.restore(tm, opt, prep.train_loader)
        hist = run.train(args.epochs, lambda epoch: twin_loop.train_epoch(
            tm, opt, loss_fn, prep.train_loader, prep.test_loader, epoch, inputs), tm, opt, prep.train_loader)
        summary = {**net, **run.summary(prep.t_data), "world_size": 1, "args": dict(vars(args))}
        atomic_write_text(os.path.join(out, "summary.json"), json.dumps(summary, indent=1))
    finally:
        run.close()
    print(f"best test acc {summary['best_acc']:.2%} (epoch {summary['best_epoch']}); last {summary['last_acc']:.2%}; "
          f"wall time {summary['wall_seconds']:.1f} s; outputs in {out}/")
    return dict(summary, history=hist.rows)


if __name__ == "__main__":
    sys.exit(cli_run(main, sys.argv[1:]))  # a user error (no data, a damaged checkpoint, a held --out): one line
