"""PyTorch reference for examples/imdb_lstm.py: same data, preprocessing, batches, model,
starting weights and optimiser, trained with torch.nn — to compare accuracy and time.

    MINIDL_DATA=path/to/data python benchmarks/imdb_torch.py --cell lstm --seed 0

PyTorch is a reference here, never a dependency of minidl: this script needs ``torch``.
It reuses minidl's loader and BatchLoader (so both see the very same batches in the same
order), copies the freshly initialised minidl model's weights into the torch model, and takes
each review's last real state (the output at step length − 1; ``--pack`` gets the same
numbers through ``pack_padded_sequence``, much more slowly).

Dropout masks: by default each library draws its own, the seed noise left between the two.
``--masks minidl --mask-ranks R`` draws, instead, the masks that ``mpiexec -n R python
examples/imdb_lstm.py`` (R = 1: ``python examples/imdb_lstm.py``) draws with the same seed,
so the twin computes the same numbers as that run up to float32 rounding (the summation
order of the GEMMs and of the ranks' gradients): :class:`MinidlMasks`.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "examples"))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import torch  # noqa: E402
from torch_kernels import add_torch_flags, apply_torch_flags  # noqa: E402
from torch_twins import TorchImdb  # noqa: E402

import minidl  # noqa: E402
from minidl.backend import get_rng  # noqa: E402
from minidl.data.batching import BatchLoader  # noqa: E402
from minidl.data.imdb import load_imdb  # noqa: E402
from minidl.distributed import work_shard_rows  # noqa: E402
from minidl.host_memory import keep_unless_declined  # noqa: E402
from minidl.models import ImdbClassifier  # noqa: E402
from minidl.train import _rank_seed  # noqa: E402

# loss flag -> (model output, torch loss, classes), as examples/imdb_lstm.py's LOSSES
LOSSES = {"ce": ("logits", torch.nn.CrossEntropyLoss, 2), "nll-raw": ("logits", torch.nn.NLLLoss, 2),
          "bce": ("sigmoid", torch.nn.BCELoss, 1)}


class MinidlMasks:
    """The head's dropout masks m/q (q = 1 − p) that examples/imdb_lstm.py draws, batch by
    batch, so that the twin can apply them instead of torch's own.

    * One process (``ranks=1``): minidl's host generator, as it stands after the model was
      built from ``minidl.manual_seed(seed)`` (the example draws nothing else before its
      first step); one (B, width) draw per batch.
    * ``R`` ranks: ``fit`` reseeds each rank at the start of each epoch from (seed, epoch,
      rank) (:func:`minidl.train._rank_seed`); each rank takes its shard of the batch, cut
      by work (:func:`minidl.distributed.work_shard_rows`, the example's ``--balance
      work``), and draws one (rows, width) mask for them. The full
      batch's mask is the ranks' masks put back in their rows.

    A draw is ``uniform[0, 1) < q`` in float32, as :func:`minidl.functional.dropout.dropout_mask`.
    """

    def __init__(self, seed, ranks, p, width):
        self.seed, self.ranks, self.width = seed, ranks, width
        self.keep = np.float32(1.0 - p)
        self.rngs = [get_rng(np)] if ranks == 1 else None

    def start_epoch(self, epoch):
        if self.ranks > 1:
            self.rngs = [np.random.default_rng(_rank_seed(self.seed, epoch, r)) for r in range(self.ranks)]

    def _draw(self, rng, rows):
        return (rng.random((rows, self.width), dtype=np.float32) < self.keep).astype(np.float32) / self.keep

    def for_batch(self, batch):
        """The (B, width) float32 mask m/q of this batch's rows."""
        if self.ranks == 1:
            return self._draw(self.rngs[0], len(batch.y))
        mask = np.empty((len(batch.y), self.width), np.float32)
        for rng, rows in zip(self.rngs, work_shard_rows(batch.lengths, self.ranks)):
            mask[rows] = self._draw(rng, len(rows))
        return mask


class GivenMaskDropout(torch.nn.Module):
    """Dropout whose scaled mask m/q is set from outside before each training forward pass
    (``.mask``, a (B, width) tensor); the identity in ``eval()``."""

    def __init__(self):
        super().__init__()
        self.mask = None

    def forward(self, x):
        if not self.training:
            return x
        if self.mask is None or self.mask.shape != x.shape:
            raise RuntimeError(f"GivenMaskDropout: set .mask to a tensor of shape {tuple(x.shape)} first")
        return x * self.mask


def _predict(out):
    return out.argmax(1).numpy() if out.shape[1] > 1 else (out[:, 0] > 0.5).long().numpy()


def _target(out, y):
    yt = torch.from_numpy(y)
    return yt.float().reshape(-1, 1) if out.shape[1] == 1 else yt


def train_step(model, opt, loss_fn, batch, clip=None):
    """One training step on a minidl ``Batch`` (x (B, T) ids, lengths (B,), y (B,)):
    forward, loss, backward, optional global-norm clipping, optimizer step.
    Returns (loss, output), the loss a 0-d tensor and the output (B, classes).
    ``benchmarks/distributed.py`` times this same step."""
    opt.zero_grad()
    out = model(torch.from_numpy(batch.x.astype(np.int64)), torch.from_numpy(batch.lengths))
    loss = loss_fn(out, _target(out, batch.y))
    loss.backward()
    if clip is not None:
        torch.nn.utils.clip_grad_norm_(model.parameters(), clip)
    opt.step()
    return loss, out


def _evaluate(model, loss_fn, loader):
    model.eval()
    total = 0.0
    yt, yp = [], []
    with torch.no_grad():
        for b in loader:
            out = model(torch.from_numpy(b.x.astype(np.int64)), torch.from_numpy(b.lengths))
            total += float(loss_fn(out, _target(out, b.y))) * len(b.y)
            yt.append(b.y)
            yp.append(_predict(out))
    yt, yp = np.concatenate(yt), np.concatenate(yp)
    per_class = [float((yp[yt == c] == c).mean()) for c in (0, 1)]
    return total / len(yt), float((yt == yp).mean()), per_class


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--cell", choices=["lstm", "gru", "rnn"], default="lstm")
    p.add_argument("--embed-dim", type=int, default=64)
    p.add_argument("--hidden-size", type=int, default=64)
    p.add_argument("--fc-dim", type=int, default=64, help="0: no hidden Linear (report A's head)")
    p.add_argument("--dropout", type=float, default=0.5)
    p.add_argument("--loss", choices=sorted(LOSSES), default="ce")
    p.add_argument("--vocab-size", type=int, default=20001)
    p.add_argument("--epochs", type=int, default=10)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--max-len", type=int, default=300)
    p.add_argument("--truncate", choices=["pre", "post"], default="pre")
    p.add_argument("--no-bucket", action="store_true")
    p.add_argument("--limit", type=int, default=None)
    p.add_argument("--data", default=None)
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--pack", action="store_true", help="use pack_padded_sequence (same result, much slower)")
    p.add_argument("--clip", type=float, default=None, help="clip the global gradient norm (as the example's --clip)")
    p.add_argument("--threads", type=int, default=None, help="torch.set_num_threads (default: torch's own choice)")
    p.add_argument("--masks", choices=["torch", "minidl"], default="torch",
                   help="dropout masks: torch's own, or those examples/imdb_lstm.py draws (MinidlMasks)")
    p.add_argument("--mask-ranks", type=int, default=1,
                   help="with --masks minidl: the MPI ranks of the minidl run whose masks are drawn")
    p.add_argument("--out", default=None, help="write history.json and summary.json here")
    add_torch_flags(p)
    args = p.parse_args(argv)
    if args.mask_ranks < 1:
        p.error(f"--mask-ranks must be >= 1, got {args.mask_ranks}")
    if args.threads:
        torch.set_num_threads(args.threads)
    apply_torch_flags(args, torch)

    t0 = time.perf_counter()
    data = load_imdb(args.data, vocab_size=args.vocab_size, max_len=args.max_len, truncate=args.truncate,
                     limit=args.limit, seed=args.seed)
    t_data = time.perf_counter() - t0
    minidl.manual_seed(args.seed)
    torch.manual_seed(args.seed)
    output, loss_cls, classes = LOSSES[args.loss]
    fc = args.fc_dim or None
    # the same start as examples/imdb_lstm.py: its freshly initialised model's weights
    ours = ImdbClassifier(args.vocab_size, args.embed_dim, args.hidden_size, cell=args.cell, dropout=args.dropout,
                          fc_dim=fc, num_classes=classes, output=output)
    model = TorchImdb(args.vocab_size, args.embed_dim, args.hidden_size, args.cell, fc_dim=fc, dropout=args.dropout,
                      num_classes=classes, output=output, pack=args.pack)
    model.load_state_dict({k: torch.tensor(minidl.asnumpy(v)) for k, v in ours.state_dict().items()}, strict=True)
    masks = None
    if args.masks == "minidl":
        masks = MinidlMasks(args.seed, args.mask_ranks, args.dropout, fc or args.hidden_size)
        model.dropout = GivenMaskDropout()
    opt = torch.optim.Adam(model.parameters(), lr=args.lr)
    loss_fn = loss_cls()
    bucket = not args.no_bucket
    train = BatchLoader(data.train.ids, data.train.labels, data.train.lengths, batch_size=args.batch_size,
                        shuffle=True, seed=args.seed, bucket=bucket, trim=bucket)
    test = BatchLoader(data.test.ids, data.test.labels, data.test.lengths, batch_size=256, shuffle=False,
                       bucket=bucket, trim=bucket)
    print(f"torch {torch.__version__}, threads {torch.get_num_threads()}, data loaded in {t_data:.1f} s")
    best, elapsed, rows = None, t_data, []
    for epoch in range(1, args.epochs + 1):
        te = time.perf_counter()
        model.train()
        tl = tc = tn = 0
        if masks:
            masks.start_epoch(epoch)
        for b in train:
            if masks:
                model.dropout.mask = torch.from_numpy(masks.for_batch(b))
            loss, out = train_step(model, opt, loss_fn, b, args.clip)
            tl += loss.item() * len(b.y)  # .item(): a Python float without the requires_grad warning
            tc += int((_predict(out.detach()) == b.y).sum())
            tn += len(b.y)
        test_loss, acc, per_class = _evaluate(model, loss_fn, test)
        seconds = time.perf_counter() - te
        elapsed += seconds
        rows.append({"epoch": epoch, "train_loss": tl / tn, "train_acc": tc / tn, "test_loss": test_loss,
                     "test_acc": acc, "test_acc_neg": per_class[0], "test_acc_pos": per_class[1],
                     "seconds": seconds, "elapsed": elapsed})
        if best is None or acc > best["test_acc"]:
            best = rows[-1]
        print(f"epoch {epoch:3d}  train loss {tl / tn:.4f} acc {tc / tn:.4f}  test loss {test_loss:.4f} "
              f"acc {acc:.4f}  ({seconds:.1f} s, {elapsed:.1f} s so far)")
    last = rows[-1]
    print(f"best test acc {best['test_acc']:.2%} at epoch {best['epoch']} after {best['elapsed']:.1f} s "
          f"(data included); last {last['test_acc']:.2%}; per-class last: neg {last['test_acc_neg']:.2%}, "
          f"pos {last['test_acc_pos']:.2%}")
    summary = {"best_acc": best["test_acc"], "best_epoch": best["epoch"], "last_acc": last["test_acc"],
               "last_epoch": last["epoch"], "per_class_best": [best["test_acc_neg"], best["test_acc_pos"]],
               "per_class_last": [last["test_acc_neg"], last["test_acc_pos"]], "seconds_to_best": best["elapsed"],
               "wall_seconds": elapsed, "data_seconds": t_data, "torch": torch.__version__,
               "threads": torch.get_num_threads(), "args": vars(args)}
    if args.out:
        os.makedirs(args.out, exist_ok=True)
        for name, obj in (("history.json", {"rows": rows}), ("summary.json", summary)):
            with open(os.path.join(args.out, name), "w", encoding="utf-8") as f:
                json.dump(obj, f, indent=1)
    return dict(summary, rows=rows)

if __name__ == "__main__":
    keep_unless_declined()  # as minidl's command line (minidl.cli.run): both libraries on the same allocator
    main(sys.argv[1:])
