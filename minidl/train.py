"""The training loop: ``fit`` and ``evaluate``, history, checkpoints, exact resume.

One training step, with every arrow written out because there is no autograd::

    out  = model(x, lengths)            # forward, each layer pushes its cache
    loss = loss_fn(out, y)              # 0-d array on the device
    g    = loss_fn.backward()           # ∂loss/∂out
    model.backward(g)                   # each layer pops its cache, adds into p.grad
    clip_grad_norm_(params, clip)       # optional
    optimizer.step(); optimizer.zero_grad()

Batches come from :class:`minidl.data.batching.BatchLoader` (``Batch(x, y, lengths,
index)``, host arrays) or any iterable of such tuples; each batch is copied to the
model's device here and nowhere else, and only the loss value comes back.

A checkpoint (``last.npz``, atomic) is written after every epoch: model, optimizer, the
random generators, the loader's epoch counter, the history and the best score so far.
``fit(..., resume=True)`` restores all of it and continues as if never stopped — same
batches, same dropout masks, same final weights (``tests/test_train.py`` proves it).
"""

from __future__ import annotations

import csv
import io
import json
import math
import os
import sys
import time
from dataclasses import dataclass, field

from . import backend
from .errors import TrainingDiverged
from .fileio import atomic_write_text
from .module import Module, no_grad
from .optim import Optimizer, clip_grad_norm_
from .serialization import load, save

__all__ = ["History", "fit", "evaluate", "default_predict", "TrainingDiverged"]


@dataclass
class History:
    """Per-epoch records: ``epoch, train_loss, train_acc, test_loss, test_acc, seconds``.

    ``history.rows`` is a list of dicts; ``history["test_acc"]`` the column as a list.
    """

    rows: list = field(default_factory=list)

    def append(self, **row) -> None:
        """Add one epoch's record (keyword = column)."""
        self.rows.append(row)

    def __getitem__(self, key: str) -> list:
        return [r.get(key) for r in self.rows]

    def __len__(self) -> int:
        return len(self.rows)

    def best(self, key: str = "test_acc") -> dict | None:
        """The row with the highest ``key`` (first one on ties)."""
        rows = [r for r in self.rows if r.get(key) is not None]
        return max(rows, key=lambda r: r[key]) if rows else None

    def to_json(self) -> str:
        """The rows as a JSON list of objects."""
        return json.dumps(self.rows, indent=1)

    @classmethod
    def from_json(cls, text: str) -> "History":
        """Rebuild a History from :meth:`to_json`'s text."""
        return cls(json.loads(text))

    def save(self, path) -> None:
        """Write ``path`` as JSON, or CSV when it ends in ``.csv`` (atomically)."""
        path = os.fspath(path)
        if path.endswith(".csv"):
            buf = io.StringIO()
            keys = list(dict.fromkeys(k for r in self.rows for k in r))
            w = csv.DictWriter(buf, fieldnames=keys)
            w.writeheader()
            w.writerows(self.rows)
            atomic_write_text(path, buf.getvalue())
        else:
            atomic_write_text(path, self.to_json())


def default_predict(out):
    """Class predictions from a model's output: argmax over classes, or for a single
    output column (BCE on probabilities) the threshold 0.5."""
    xp = backend.get_array_module(out)
    if out.ndim == 2 and out.shape[1] > 1:
        return xp.argmax(out, axis=1)
    return (out.reshape(-1) > 0.5).astype(xp.int64)


def _unpack(batch):
    """(x, y, lengths) from a Batch or a plain (x, y[, lengths]) tuple."""
    if hasattr(batch, "x"):
        return batch.x, batch.y, batch.lengths
    if len(batch) == 2:
        return batch[0], batch[1], None
    return batch[0], batch[1], batch[2]


def _forward(model, x, lengths, device):
    xd = backend.to_device(x, device)  # the one host-to-device copy of the inputs
    return model(xd, lengths) if lengths is not None else model(xd)


def _targets_for(out, y, device):
    yd = backend.to_device(y, device)
    if out.ndim == 2 and out.shape[1] == 1 and y.ndim == 1:  # BCE: (N,) labels vs (N, 1) output
        yd = yd.reshape(-1, 1).astype(out.dtype)
    return yd


def evaluate(model: Module, loss_fn: Module, loader, device: str | None = None, predict=default_predict) -> dict:
    """Loss and accuracy over ``loader`` in eval mode, keeping no caches.

    Returns ``{"loss": mean loss per sample, "acc": accuracy, "y_true": (N,), "y_pred": (N,)}``
    with host arrays, in the loader's order.
    """
    device = device or model.device
    was_training = model.training
    model.eval()
    total, n, y_true, y_pred = 0.0, 0, [], []
    try:
        with no_grad():
            for batch in loader:
                x, y, lengths = _unpack(batch)
                out = _forward(model, x, lengths, device)
                loss = loss_fn(out, _targets_for(out, y, device))
                total += float(loss) * len(y)
                n += len(y)
                y_true.append(backend.numpy.asarray(y).reshape(-1))
                y_pred.append(backend.asnumpy(predict(out)).reshape(-1))
    finally:
        model.train(was_training)
    np = backend.numpy
    yt = np.concatenate(y_true) if y_true else np.zeros(0, np.int64)
    yp = np.concatenate(y_pred) if y_pred else np.zeros(0, np.int64)
    return {"loss": total / max(n, 1), "acc": float((yt == yp).mean()) if n else float("nan"),
            "y_true": yt, "y_pred": yp}


def _progress(iterable, total, desc, enabled):
    if not enabled:
        return iterable
    from tqdm.auto import tqdm

    return tqdm(iterable, total=total, desc=desc, leave=False, dynamic_ncols=True)


def fit(
    model: Module,
    loss_fn: Module,
    optimizer: Optimizer,
    train_loader,
    test_loader=None,
    *,
    epochs: int,
    device: str | None = None,
    clip_grad: float | None = None,
    checkpoint_dir: str | None = None,
    resume: bool = False,
    progress: bool | None = None,
    predict=default_predict,
    log=print,
) -> History:
    """Train ``model`` for ``epochs`` epochs; evaluate on ``test_loader`` after each.

    Args:
        train_loader: iterable of batches (``Batch`` or ``(x, y[, lengths])``), re-iterated
            every epoch. If it has ``state_dict``/``load_state_dict`` (``BatchLoader``), its
            state goes into the checkpoints.
        clip_grad: clip the global gradient norm to this value (None: no clipping).
        checkpoint_dir: write ``last.npz`` after each epoch, ``best.npz`` when the test
            accuracy improves, and ``history.json`` / ``history.csv``.
        resume: continue from ``checkpoint_dir/last.npz`` if it exists.
        progress: tqdm bar per epoch; default only when stderr is a terminal.
        log: where the one-line summary per epoch goes (``print``; None for silence).

    Returns:
        The :class:`History`. Raises :class:`TrainingDiverged` naming the epoch and step
        when the loss or the gradient norm is NaN or infinite.
    """
    device = device or model.device
    if progress is None:
        progress = sys.stderr.isatty()
    history = History()
    start_epoch, best_acc = 1, -math.inf
    last_path = os.path.join(checkpoint_dir, "last.npz") if checkpoint_dir else None
    if resume:
        if not checkpoint_dir:
            raise ValueError("resume=True needs checkpoint_dir")
        if os.path.exists(last_path):
            ck = load(last_path)
            model.load_state_dict(ck["model"])
            optimizer.load_state_dict(ck["optim"])
            backend.set_rng_state(ck["rng"])
            if "loader" in ck and hasattr(train_loader, "load_state_dict"):
                train_loader.load_state_dict(ck["loader"])
            history = History.from_json(ck["history"])
            start_epoch, best_acc = int(ck["epoch"]) + 1, float(ck["best_acc"])
            if log:
                log(f"resumed from {last_path} after epoch {start_epoch - 1}")
    params = model.parameters()

    for epoch in range(start_epoch, epochs + 1):
        t0 = time.perf_counter()
        model.train()
        total, correct, n = 0.0, 0, 0
        n_batches = len(train_loader) if hasattr(train_loader, "__len__") else None
        bar = _progress(train_loader, n_batches, f"epoch {epoch}/{epochs}", progress)
        for step, batch in enumerate(bar, 1):
            x, y, lengths = _unpack(batch)
            out = _forward(model, x, lengths, device)
            loss = loss_fn(out, _targets_for(out, y, device))
            value = float(loss)  # the one device-to-host copy per step
            if not math.isfinite(value):
                model.clear_caches()
                raise TrainingDiverged(f"loss is {value} at epoch {epoch}, step {step}: training diverged "
                                       "(lower the learning rate, clip gradients, or check the loss/inputs)")
            model.backward(loss_fn.backward())
            if clip_grad is not None:
                norm = clip_grad_norm_(params, clip_grad)
                if not math.isfinite(norm):
                    raise TrainingDiverged(f"gradient norm is {norm} at epoch {epoch}, step {step}")
            optimizer.step()
            optimizer.zero_grad()
            total += value * len(y)
            correct += int((backend.asnumpy(predict(out)).reshape(-1) == backend.numpy.asarray(y).reshape(-1)).sum())
            n += len(y)
            if progress:
                bar.set_postfix(loss=f"{total / n:.4f}", acc=f"{correct / n:.4f}")
        train_seconds = time.perf_counter() - t0
        row = {"epoch": epoch, "train_loss": total / max(n, 1), "train_acc": correct / max(n, 1)}
        if test_loader is not None:
            ev = evaluate(model, loss_fn, test_loader, device, predict)
            row.update(test_loss=ev["loss"], test_acc=ev["acc"])
        row.update(train_seconds=round(train_seconds, 3), seconds=round(time.perf_counter() - t0, 3))
        history.append(**row)
        if log:
            msg = f"epoch {epoch:3d}  train loss {row['train_loss']:.4f} acc {row['train_acc']:.4f}"
            if test_loader is not None:
                msg += f"  test loss {row['test_loss']:.4f} acc {row['test_acc']:.4f}"
            log(msg + f"  ({row['seconds']:.1f} s)")
        score = row.get("test_acc", row["train_acc"])
        improved = score > best_acc
        best_acc = max(best_acc, score)
        if checkpoint_dir:
            if improved:
                best = {"model": model.state_dict(), "epoch": epoch, "acc": score}
                save(best, os.path.join(checkpoint_dir, "best.npz"))
            state = {"model": model.state_dict(), "optim": optimizer.state_dict(), "rng": backend.get_rng_state(),
                     "history": history.to_json(), "epoch": epoch, "best_acc": best_acc}
            if hasattr(train_loader, "state_dict"):
                state["loader"] = train_loader.state_dict()
            save(state, last_path)
            history.save(os.path.join(checkpoint_dir, "history.json"))
            history.save(os.path.join(checkpoint_dir, "history.csv"))
    return history
