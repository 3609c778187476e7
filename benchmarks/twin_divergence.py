"""How long minidl and its PyTorch twin train the same numbers: report B's LSTM from the
same start weights, on the same batches, with the same dropout masks, step by step, in
float32 or float64, and how fast their weights drift apart once they do.

    MINIDL_DATA=path/to/data python benchmarks/twin_divergence.py --steps 782            # float32, two epochs
    MINIDL_DATA=path/to/data python benchmarks/twin_divergence.py --steps 782 --dtype float64

Both sides take one training step per batch of ``examples/imdb_lstm.py``'s loader (one
process, seed S): minidl's model, loss, hand-written backward pass and Adam; the twin
(``benchmarks/imdb_torch.py``'s ``TorchImdb``, loaded with minidl's start weights) with
torch's autograd and Adam, its dropout replaced by the masks minidl draws
(``imdb_torch.MinidlMasks``). Every ``--every`` steps a row gives both losses and the
largest difference between any two corresponding weights; after each epoch, both models'
test accuracy.

What it is for: a time to an accuracy (``benchmarks/time_to_accuracy.py``) compares two runs
that start the same. If they stayed the same, the first epoch to cross a target would be the
same for both and only speed would decide. The difference starts as rounding (the GEMMs'
summation order), and whether it stays there is a property of training, not of either
library: the rows show when it stops being rounding. PyTorch is a reference here, never a
dependency of minidl.
"""

from __future__ import annotations

import argparse
import copy
import json
import math
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))  # this checkout's minidl

import torch  # noqa: E402
from imdb_torch import GivenMaskDropout, MinidlMasks, train_step  # noqa: E402
from imdb_torch import _evaluate as twin_evaluate  # noqa: E402
from torch_twins import TorchImdb  # noqa: E402

import minidl  # noqa: E402
from minidl import nn, optim  # noqa: E402
from minidl.backend import get_rng  # noqa: E402
from minidl.data.batching import BatchLoader  # noqa: E402
from minidl.data.imdb import load_imdb  # noqa: E402
from minidl.models import ImdbClassifier  # noqa: E402
from minidl.train import evaluate  # noqa: E402


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--steps", type=int, default=391, help="training steps (391: one epoch of 25,000 reviews)")
    p.add_argument("--dtype", choices=["float32", "float64"], default="float32")
    p.add_argument("--every", type=int, default=10, help="print a row every N steps")
    p.add_argument("--threads", type=int, default=1, help="torch.set_num_threads")
    p.add_argument("--limit", type=int, default=None, help="N reviews of each split (a quick check, not a result)")
    p.add_argument("--data", default=None, help="aclImdb folder or .tar.gz (default: $MINIDL_DATA)")
    p.add_argument("--json", default=None, help="also write every step's row here")
    args = p.parse_args(argv)
    if args.steps < 1 or args.every < 1 or args.threads < 1:
        p.error("--steps, --every and --threads must be >= 1")
    return args


def weight_gap(ours, twin):
    """(largest |w_minidl − w_torch| over every weight, the parameter that holds it)."""
    theirs = twin.state_dict()
    gaps = {k: float(np.abs(minidl.asnumpy(v) - theirs[k].detach().numpy()).max())
            for k, v in ours.state_dict().items()}
    name = max(gaps, key=gaps.get)
    return gaps[name], name


def main(argv=None):
    args = parse_args(argv)
    torch.set_num_threads(args.threads)
    minidl.manual_seed(args.seed)  # as the example: the seed, then the data, then the model
    data = load_imdb(args.data, vocab_size=20001, max_len=300, truncate="pre", limit=args.limit, seed=args.seed)
    ours = ImdbClassifier(20001, 64, 64, cell="lstm", dropout=0.5, fc_dim=64, num_classes=2, output="logits")
    twin = TorchImdb(20001, 64, 64, "lstm", fc_dim=64, dropout=0.5, num_classes=2, output="logits")
    twin.load_state_dict({k: torch.tensor(minidl.asnumpy(v)) for k, v in ours.state_dict().items()}, strict=True)
    if args.dtype == "float64":
        ours.double()
        twin.double()
    # the masks minidl's forward passes will draw: a copy of its generator as it stands now
    masks = MinidlMasks(args.seed, 1, 0.5, 64)
    masks.rngs = [copy.deepcopy(get_rng(np))]
    twin.dropout = GivenMaskDropout()
    opt_ours, opt_twin = optim.Adam(ours.parameters(), lr=1e-3), torch.optim.Adam(twin.parameters(), lr=1e-3)
    loss_ours, loss_twin = nn.CrossEntropyLoss(), torch.nn.CrossEntropyLoss()
    train = BatchLoader(data.train.ids, data.train.labels, data.train.lengths, batch_size=64, shuffle=True,
                        seed=args.seed, bucket=True, trim=True)
    test = BatchLoader(data.test.ids, data.test.labels, data.test.lengths, batch_size=256, shuffle=False,
                       bucket=True, trim=True)
    ours.train()
    twin.train()
    print(f"report B's LSTM, seed {args.seed}, {args.dtype}, minidl {minidl.__version__} against torch "
          f"{torch.__version__} ({args.threads} thread(s)); same start, batches and dropout masks")
    print("| step | T | minidl loss | PyTorch loss | loss gap | largest weight gap (parameter) |\n"
          "| ---: | ---: | ---: | ---: | ---: | --- |")
    rows, accuracies = [], []

    def batches():  # epoch after epoch, as fit draws them
        while True:
            yield from train

    for step, b in enumerate(batches(), start=1):
        if step > args.steps:
            break
        twin.dropout.mask = torch.from_numpy(masks.for_batch(b))
        out = ours(b.x, lengths=b.lengths)
        loss = float(loss_ours(out, b.y))
        ours.backward(loss_ours.backward())
        opt_ours.step()
        opt_ours.zero_grad()
        theirs, _ = train_step(twin, opt_twin, loss_twin, b)  # imdb_torch's step, as the twin trains
        gap, name = weight_gap(ours, twin)
        rows.append({"step": step, "T": int(b.x.shape[1]), "minidl_loss": loss, "torch_loss": theirs.item(),
                     "weight_gap": gap, "parameter": name})
        if step % args.every == 0 or step == 1 or step == args.steps:
            r = rows[-1]
            print(f"| {step} | {r['T']} | {loss:.7f} | {r['torch_loss']:.7f} | {abs(loss - r['torch_loss']):.1e} "
                  f"| {gap:.1e} ({name}) |")
        if step % len(train) == 0:  # an epoch's end: both models on the test reviews
            accuracies.append(test_accuracies(step // len(train), ours, twin, loss_ours, loss_twin, test))
            ours.train()
            twin.train()
    print()
    for a in accuracies:
        print(f"after epoch {a['epoch']}: test accuracy minidl {a['minidl']:.2%}, PyTorch {a['torch']:.2%}")
    summarise(rows)
    if args.json:
        with open(args.json, "w", encoding="utf-8") as f:
            json.dump({"args": vars(args), "rows": rows, "test_accuracy": accuracies}, f, indent=1)
    return rows, accuracies


def test_accuracies(epoch, ours, twin, loss_ours, loss_twin, test):
    """Both models' accuracy on the test reviews (evaluation mode: no dropout)."""
    acc_ours = evaluate(ours, loss_ours, test)["acc"]
    acc_twin = twin_evaluate(twin, loss_twin, test)[1]
    return {"epoch": epoch, "minidl": acc_ours, "torch": acc_twin}


def summarise(rows):
    """The first step at which the weights differ by more than 1e-4 and by more than 1e-2, and
    the e-folding time of the gap between the two (steps per factor e)."""
    first = {}
    for bound in (1e-4, 1e-2):
        first[bound] = next((r["step"] for r in rows if r["weight_gap"] > bound), None)
        print(f"largest weight gap first above {bound:g}: " + (f"step {first[bound]}" if first[bound]
                                                                else "not within these steps"))
    a, b = first[1e-4], first[1e-2]
    if a and b and b > a:
        gap_a, gap_b = rows[a - 1]["weight_gap"], rows[b - 1]["weight_gap"]  # rows[i] is step i + 1
        print(f"between them the gap grew e-fold every {(b - a) / math.log(gap_b / gap_a):.1f} steps")


if __name__ == "__main__":
    main(sys.argv[1:])
