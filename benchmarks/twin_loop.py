"""The epochs of a PyTorch twin (benchmarks/cifar_torch.py, benchmarks/imdb_deep_torch.py):
one training pass and one evaluation per epoch, summed as minidl's ``fit`` sums them, a
history row like the example's, and after every epoch the history files and the checkpoint
of :mod:`twin_checkpoint`, so that ``--resume`` continues an interrupted run exactly.

A twin's ``main`` is::

    run = TwinRun(out, settings, resume=..., overwrite=..., prog=...)   # before any data is read
    ... the example's prepare, the torch module, Adam ...
    run.restore(tm, opt, train_loader)       # from the checkpoint, if resuming one
    run.train(epochs, lambda epoch: train_epoch(...), tm, opt, train_loader)
    summary = {**run.summary(data_seconds), ...}

A twin's batch becomes the module's inputs through ``inputs(batch)`` (a tuple of tensors):
the images, or the token ids and lengths.
"""

from __future__ import annotations

import math
import os
import time

import numpy as np
import torch
from twin_checkpoint import CHECKPOINT, load_torch_state, read_checkpoint, refuse_other_settings, save_checkpoint

from minidl.errors import TrainingDiverged
from minidl.history import History
from minidl.metrics import Tally, balanced_accuracy_from_confusion, per_class_accuracy_from_confusion
from minidl.runfolder import open_run_folder


def _labels(batch):
    return torch.from_numpy(np.asarray(batch.y, dtype=np.int64))


def train_step(tm, opt, loss_fn, inputs, y, record=None):
    """Forward on ``inputs`` (a tuple of tensors), cross-entropy against ``y`` (B,) int64,
    backward, ``record()`` (before the step), Adam. Returns (loss, logits) as host values:
    a float and a (B, C) array."""
    opt.zero_grad()
    out = tm(*inputs)
    loss = loss_fn(out, y)
    loss.backward()
    if record is not None:
        record()
    opt.step()
    return loss.item(), out.detach().numpy()


def evaluate(tm, loss_fn, loader, inputs) -> dict:
    """Loss, accuracy, balanced and per-class accuracy over ``loader`` in eval mode, summed
    as minidl's ``evaluate`` sums them (:class:`~minidl.metrics.Tally`)."""
    tm.eval()
    tally = Tally(confusion=True)
    with torch.no_grad():
        for b in loader:
            out = tm(*inputs(b))
            tally.add(float(loss_fn(out, _labels(b))), out.numpy(), b.y, out.shape[1])
    tm.train()
    return {"loss": tally.loss, "acc": tally.acc, "balanced_acc": balanced_accuracy_from_confusion(tally.confusion),
            "per_class_acc": per_class_accuracy_from_confusion(tally.confusion)}


def train_epoch(tm, opt, loss_fn, loader, test_loader, epoch: int, inputs, record=None) -> dict:
    """One epoch and its evaluation: a row of the example's history (``train_loss``,
    ``train_acc``, ``test_loss``, ``test_acc``, ``test_balanced_acc``, ``test_acc_class<c>``,
    ``train_seconds``, ``seconds``). A non-finite loss raises
    :class:`~minidl.errors.TrainingDiverged` naming the epoch and the step."""
    t0 = time.perf_counter()
    tm.train()
    tally = Tally()
    for i, b in enumerate(loader, 1):
        loss, out = train_step(tm, opt, loss_fn, inputs(b), _labels(b), record)
        if not math.isfinite(loss):
            raise TrainingDiverged(f"loss is {loss} at epoch {epoch}, step {i}: training diverged (the checkpoint "
                                   "of the epoch before is kept)")
        tally.add(loss, out, b.y)
    train_seconds = time.perf_counter() - t0
    ev = evaluate(tm, loss_fn, test_loader, inputs)
    row = {"epoch": epoch, "train_loss": tally.loss, "train_acc": tally.acc, "test_loss": ev["loss"],
           "test_acc": ev["acc"], "test_balanced_acc": ev["balanced_acc"]}
    for c, a in enumerate(ev["per_class_acc"]):
        row[f"test_acc_class{c}"] = None if math.isnan(a) else float(a)
    row.update(train_seconds=round(train_seconds, 3), seconds=round(time.perf_counter() - t0, 3))
    return row


class TwinRun:
    """A twin's run folder and what it carries from epoch to epoch.

    Created before any data is read: it checks and locks ``out`` as the examples do
    (:func:`minidl.runfolder.open_run_folder`: a folder holding a run is refused without
    ``resume`` or ``overwrite``), and with ``resume`` reads the checkpoint and refuses one
    of other ``settings`` (``{flag: value}``; exit 2, one ``error:`` line). A ``resume``
    without a checkpoint in ``out`` starts from epoch 1, as the examples' ``--resume`` does.
    ``extra`` is the twin's own JSON state, restored with the rest.
    """

    def __init__(self, out: str, settings: dict, *, resume: bool, overwrite: bool, prog: str, log=print):
        self.out, self.settings, self.log = out, settings, log
        self.folder = open_run_folder(out, resume=resume, overwrite=overwrite, log=log)
        path = os.path.join(out, CHECKPOINT)
        if overwrite and os.path.exists(path):
            os.unlink(path)
        try:
            self.ck = read_checkpoint(out) if resume else None
            if self.ck is not None:
                refuse_other_settings(prog, path, self.ck["meta"]["settings"], settings)
        except BaseException:  # a damaged checkpoint, other settings: the folder is not ours to keep
            self.folder.release()
            raise
        if resume and self.ck is None and log:
            log(f"--resume: no {CHECKPOINT} in {out}: starting from epoch 1")
        self.history, self.epoch, self.extra = History(), 0, {}
        self.wall_before, self.resumed_after = 0.0, []
        self.t_start = time.perf_counter()

    def restore(self, tm, opt, loader) -> dict:
        """With a checkpoint: the module, Adam, torch's generator, the loader's epoch, the
        history and the extra state, as they were after its epoch. Call it after building
        ``tm`` and ``opt`` (building draws from torch's generator) and before training.
        Returns the extra state (``{}`` without a checkpoint)."""
        if self.ck is None:
            return self.extra
        ck, path = self.ck, os.path.join(self.out, CHECKPOINT)
        load_torch_state(tm, opt, ck, path)
        loader.load_state_dict(ck["loader"])
        meta = ck["meta"]
        self.history, self.epoch, self.extra = ck["history"], int(meta["epoch"]), meta.get("extra", {})
        self.wall_before = float(meta["wall_seconds"])
        self.resumed_after = list(meta.get("resumed_after", [])) + [self.epoch]
        self.ck = None  # the arrays are in the module now
        if self.log:
            self.log(f"resumed from {path} after epoch {self.epoch}")
        return self.extra

    def train(self, epochs: int, epoch_fn, tm, opt, loader, extra=lambda: {}) -> History:
        """Epochs ``self.epoch + 1 .. epochs``: ``epoch_fn(epoch)`` returns the row; after
        each the history files and the checkpoint (with ``extra()``) are written, atomically,
        and a line printed."""
        for epoch in range(self.epoch + 1, epochs + 1):
            row = epoch_fn(epoch)
            self.history.append(**row)
            self.epoch = epoch
            meta = {"epoch": epoch, "settings": self.settings, "wall_seconds": self.wall_seconds(),
                    "resumed_after": self.resumed_after, "extra": extra(), "torch": torch.__version__}
            save_checkpoint(self.out, tm, opt, loader, self.history, meta)
            for name in ("history.json", "history.csv"):
                self.history.save(os.path.join(self.out, name))
            if self.log:
                self.log(f"epoch {epoch:3d}  train loss {row['train_loss']:.4f} acc {row['train_acc']:.4f}  "
                         f"test loss {row['test_loss']:.4f} acc {row['test_acc']:.4f}  ({row['seconds']:.1f} s)")
        return self.history

    def wall_seconds(self) -> float:
        """The run's wall time: the earlier processes' (to their last checkpoint) and this one's."""
        return self.wall_before + time.perf_counter() - self.t_start

    def summary(self, data_seconds: float) -> dict:
        """The fields every twin's ``summary.json`` has (the example's names)."""
        best, last = self.history.best("test_acc"), self.history.rows[-1]
        return {"library": "pytorch", "best_acc": best["test_acc"], "best_epoch": best["epoch"],
                "last_acc": last["test_acc"], "last_epoch": last["epoch"], "wall_seconds": self.wall_seconds(),
                "data_seconds": data_seconds, "seconds_per_epoch": sum(self.history["seconds"]) / len(self.history),
                "resumed_after_epochs": self.resumed_after, "torch": torch.__version__,
                "threads": torch.get_num_threads()}

    def close(self) -> None:
        """Release the folder's lock."""
        self.folder.release()
