"""The training loop: ``fit`` and ``evaluate``, history, checkpoints, exact resume.

**The model contract.** ``fit`` trains any :class:`~minidl.module.Module` that keeps this
contract (every model in :mod:`minidl.models` does)::

    scores = model(x)                       # a batch without lengths (images)
    scores = model(x, lengths=lengths)      # a batch of padded sequences: lengths (B,) host ints
    model.backward(d_scores)                # adds into every parameter's .grad (returns anything)

``x`` is the batch's input moved to the model's device (token ids (B, T), letters, images
(B, C, H, W), ...); ``scores`` is (B, C) — logits, log-probabilities or probabilities of
the C classes, whatever the loss expects — or (B, 1) probabilities of the positive class
for ``BCELoss``. The predicted class is the arg-max of the scores, or ``p > 0.5`` for one
column (:func:`minidl.metrics.predictions`; ``predict=`` changes the rule).

**One training step**, with every arrow written out because there is no autograd::

    out  = model(x, lengths=lengths)    # forward, each layer pushes its cache
    loss = loss_fn(out, y)              # 0-d array on the device
    g    = loss_fn.backward()           # ∂loss/∂out
    model.backward(g)                   # each layer pops its cache, adds into p.grad
    clip_grad_norm_(params, clip)       # optional
    optimizer.step(); optimizer.zero_grad()

Batches come from :class:`minidl.data.batching.BatchLoader` (``Batch(x, y, lengths,
index)``, host arrays) or any iterable of ``(x, y)`` / ``(x, y, lengths)`` tuples. On a
GPU a step copies the batch in once (``x`` here, ``y`` by the loss, ``lengths`` by the
recurrent layer, each checked on the host before its copy) and reads back one vector: the
loss and the predicted classes (:func:`_loss_and_predictions`). An ``Embedding`` reads back
the range of its ids and ``clip_grad`` the gradient norm, one copy each
(``tests/train/test_transfers.py`` counts them).

**The pieces of** :func:`fit`: :func:`~minidl.checkpoint.resume_run` (read ``last.npz``),
:func:`train_one_epoch`, :func:`evaluate`, :func:`check_diverged` (the guard) and
:func:`~minidl.checkpoint.save_checkpoint`; the checkpoints live in :mod:`minidl.checkpoint`
and the per-epoch record in :mod:`minidl.history` (both names are importable from here too).

**Checkpoints.** After every epoch that passes the guard, ``last.npz`` (atomic) holds the
model, the optimizer, the random generators, the loader's epoch counter, the history, the
best score so far and the run's hyper-parameters; ``best.npz`` the best epoch's weights.
``fit(..., resume=True)`` restores all of it and continues as if never stopped — same
batches, same dropout masks, same final weights (``tests/train/test_fit.py`` proves it).

**The guard.** A non-finite training loss stops training at once; after each epoch, before
anything is written, every parameter and buffer must be finite and so must the evaluation
loss. Otherwise :class:`~minidl.errors.TrainingDiverged` is raised and ``last.npz`` stays
the last good epoch's. A finite loss that has grown more than :data:`LOSS_GROWTH_WARNING`
times above the run's first-step loss does not stop training (report B's "NLL on raw
scores" ablation diverges on purpose) but prints a warning line every epoch.

**Changed hyper-parameters on resume.** The checkpoint stores the run's hyper-parameters
(``config=`` plus the optimizer's class and learning rate and ``clip_grad``). Resuming with
different ones raises :class:`~minidl.errors.CheckpointError` listing each difference,
because a resumed run that silently kept the checkpoint's learning rate (or silently took
the new one) would record a command that is not what ran. ``allow_config_change=True``
continues with the new values from the next epoch on, logs each change and notes it in
that epoch's history row.

**Data-parallel hooks.** ``distributed=`` takes an object with ``rank``, ``world_size``,
``is_root``, ``broadcast_parameters(model)``, ``shard(batch)``,
``allreduce_gradients(params, local_n, global_n)``, ``allreduce_sum(array)`` and, optionally,
``agree(settings)`` (see ``minidl.distributed``). Every rank iterates the same global batches
and trains on its shard; the gradients are averaged over the global batch before clipping and
the step (a sharded optimizer, :mod:`minidl.sharded_optim`, reduce-scatters and clips them
itself, and gathers its state on every rank before rank 0 saves it); the metrics are summed
over ranks; rank 0 alone writes checkpoints and logs; each rank reseeds its dropout generator
every epoch from (seed, epoch, rank). Before the first collective the ranks must agree
(``distributed.agree``) on the hyper-parameters (``config``, where the examples put
``--seed``), the epochs, where the run resumes and the data (each loader's ``fingerprint()``,
its seed included): a difference is refused on every rank, naming it. ``None`` is one process.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import sys
import time

from . import backend
from .checkpoint import _Run, non_finite_names, resume_run, save_checkpoint
from .checks import check_number
from .errors import DTypeError, RangeError, ShapeError, TrainingDiverged
from .history import History
from .metrics import Tally, balanced_accuracy_from_confusion, per_class_accuracy_from_confusion, predictions
from .module import Module, no_grad
from .optim import Optimizer, clip_grad_norm_

__all__ = [
    "History", "fit", "evaluate", "train_one_epoch", "resume_run", "check_diverged", "save_checkpoint",
    "default_predict", "TrainingDiverged", "LOSS_GROWTH_WARNING",
]

#: a training loss this many times above the run's first-step loss (in absolute value) warns
LOSS_GROWTH_WARNING = 100.0

_ADVICE = " (lower the learning rate, clip the gradient norm, or look for NaN or inf in the inputs)"

#: the prediction rule: arg-max of (B, C) scores, ``p > 0.5`` for one column
default_predict = predictions


# ----------------------------------------------------------------------------- batches
def _unpack(batch):
    """(x, y, lengths) from a Batch or a plain (x, y[, lengths]) tuple."""
    if hasattr(batch, "x"):
        return batch.x, batch.y, batch.lengths
    if len(batch) == 2:
        return batch[0], batch[1], None
    return batch[0], batch[1], batch[2]


def _forward(model, x, lengths, device):
    """The model contract: ``model(x)`` or ``model(x, lengths=lengths)``."""
    xd = backend.to_device(x, device)  # the one host-to-device copy of the inputs
    return model(xd, lengths=lengths) if lengths is not None else model(xd)


def _targets_for(out, y):
    """The labels as the loss wants them, still where they are (on the host): the loss checks
    them there and copies them to the device once (checked on the device, they would cost
    a device-to-host copy)."""
    if out.ndim == 2 and out.shape[1] == 1 and y.ndim == 1:  # BCE: (N,) labels vs (N, 1) output
        return y.reshape(-1, 1).astype(out.dtype)
    return y


def _loss_and_predictions(loss, out, predict):
    """``(loss as a float, predicted classes (N,))`` in **one** device-to-host copy.

    With the default rule (:func:`minidl.metrics.predictions`: arg-max of (N, C) scores,
    ``p > 0.5`` for one column) the predictions are made on the device and travel with the
    loss in one vector; each separate copy would make the host wait for the GPU again. A
    custom ``predict`` gets the scores as they are (a second copy, if it reads them back).
    """
    if predict is not default_predict or out.ndim != 2 or out.dtype.kind != "f":
        return float(loss), predict(out)
    xp = backend.get_array_module(out)
    pred = out.argmax(axis=1) if out.shape[1] >= 2 else out[:, 0] > 0.5
    both = backend.asnumpy(xp.concatenate([loss.reshape(1).astype(xp.float64), pred.astype(xp.float64)]))
    return float(both[0]), both[1:].astype("int64")


def _num_classes(out) -> int:
    """C from the scores: their columns, or 2 for one probability column."""
    return int(out.shape[1]) if out.ndim == 2 and out.shape[1] > 1 else 2


def _progress(iterable, total, desc, enabled):
    if not enabled:
        return iterable
    from tqdm.auto import tqdm

    return tqdm(iterable, total=total, desc=desc, leave=False, dynamic_ncols=True)


# ----------------------------------------------------------------------------- evaluate
def evaluate(model: Module, loss_fn: Module, loader, device: str | None = None, predict=default_predict,
             distributed=None) -> dict:
    """Loss and accuracy over ``loader`` in eval mode, keeping no caches.

    Returns a dict of host values: ``loss`` (mean per sample), ``acc``, ``balanced_acc``
    (the mean of the per-class accuracies), ``per_class_acc`` (C,) (NaN for a class without
    samples), ``confusion`` (C, C) counts (rows = truth), ``n``, and ``y_true`` /
    ``y_pred`` (N,) in the loader's order. With ``distributed``, each rank evaluates its
    shard of every batch and the sums are added over ranks: everything but ``y_true`` /
    ``y_pred`` (this rank's samples only) covers the whole set (every rank must see at
    least one sample, so that all ranks reduce a confusion matrix of the same size).
    Raises ``ValueError`` when the loader yields no sample at all.
    """
    device = device or model.device
    was_training = model.training
    model.eval()
    tally = Tally(confusion=True, keep_predictions=True)
    try:
        with no_grad():
            for batch in loader:
                x, y, lengths = _unpack(batch if distributed is None else distributed.shard(batch))
                if len(y) == 0:
                    continue  # this rank's shard of a short last batch is empty
                out = _forward(model, x, lengths, device)
                loss = loss_fn(out, _targets_for(out, y))
                tally.add(*_loss_and_predictions(loss, out, predict), y, _num_classes(out))
    finally:
        model.train(was_training)
    if distributed is not None:
        tally.reduce(distributed.allreduce_sum)
    if tally.n == 0:
        raise ShapeError("evaluate: the loader yielded no samples")
    cm = tally.confusion
    return {"loss": tally.loss, "acc": tally.acc, "n": tally.n, "confusion": cm,
            "per_class_acc": per_class_accuracy_from_confusion(cm),
            "balanced_acc": balanced_accuracy_from_confusion(cm),
            "y_true": tally.y_true, "y_pred": tally.y_pred}


# ----------------------------------------------------------------------------- one epoch
def _train_step(model, loss_fn, optimizer, params, batch, *, device, clip_grad, predict, distributed,
                where: str) -> Tally:
    """Forward, loss, guard, backward, (all-reduce), clip, step. Returns the step's tally
    (summed over ranks when distributed)."""
    global_rows = len(_unpack(batch)[1])  # the global batch as this rank was given it
    x, y, lengths = _unpack(batch if distributed is None else distributed.shard(batch))
    step, out, loss = Tally(), None, None
    if len(y):  # a rank's shard of a short last batch may be empty: it contributes zeros
        out = _forward(model, x, lengths, device)
        loss = loss_fn(out, _targets_for(out, y))
        step.add(*_loss_and_predictions(loss, out, predict), y)  # the step's one device-to-host copy
    local_n = step.n
    if distributed is not None:
        step.reduce(distributed.allreduce_sum)  # every rank then takes the same decision below
    if step.n == 0:
        return step  # an empty batch: nothing to learn from
    if not math.isfinite(step.loss):
        model.clear_caches()
        raise TrainingDiverged(f"loss is {step.loss} at {where}: training diverged{_ADVICE}")
    if out is not None:
        model.backward(loss_fn.backward())
    if distributed is not None and getattr(optimizer, "reduce_scatter", False):
        norm = optimizer.reduce_gradients(local_n, step.n, clip_grad)  # sharded: sums and clips its chunk only
    else:
        if distributed is not None:
            distributed.allreduce_gradients(params, local_n, global_rows)  # checks every rank had this batch
        norm = clip_grad_norm_(params, clip_grad) if clip_grad is not None else None
    if clip_grad is not None and not math.isfinite(norm):
        raise TrainingDiverged(f"gradient norm is {norm} at {where}: training diverged{_ADVICE}")
    optimizer.step()
    optimizer.zero_grad()
    return step


def train_one_epoch(model: Module, loss_fn: Module, optimizer: Optimizer, loader, *, epoch: int = 1,
                    device: str | None = None, clip_grad: float | None = None, predict=default_predict,
                    distributed=None, progress: bool = False, desc: str = "", on_first_step=None) -> Tally:
    """One pass over ``loader`` in training mode; returns the epoch's :class:`Tally`
    (``.loss`` mean per sample, ``.acc``). Raises :class:`TrainingDiverged` naming the epoch
    and the step when the loss (or, with clipping, the gradient norm) is NaN or infinite.
    ``on_first_step(loss)`` is called with the first step's loss."""
    device = device or model.device
    model.train()
    params = model.parameters()
    total = len(loader) if hasattr(loader, "__len__") else None
    bar = _progress(loader, total, desc or f"epoch {epoch}", progress)
    tally = Tally()
    for i, batch in enumerate(bar, 1):
        step = _train_step(model, loss_fn, optimizer, params, batch, device=device, clip_grad=clip_grad,
                           predict=predict, distributed=distributed, where=f"epoch {epoch}, step {i}")
        if i == 1 and on_first_step is not None:
            on_first_step(step.loss)
        tally.merge(step)
        if progress:
            bar.set_postfix(loss=f"{tally.loss:.4f}", acc=f"{tally.acc:.4f}")
    return tally


# ----------------------------------------------------------------------------- the guard
def check_diverged(model: Module, row: dict, epoch: int, kept: str = "") -> None:
    """Raise :class:`TrainingDiverged` when a loss of ``row`` or any parameter or floating
    buffer of ``model`` is NaN or infinite (a blow-up on the last step of an epoch leaves
    the training loss finite and the weights not). ``kept`` ends the message (which
    checkpoint survives)."""
    bad = non_finite_names(model)
    if bad:
        raise TrainingDiverged(f"after epoch {epoch} the parameters {bad} hold NaN or inf: "
                               f"training diverged{_ADVICE}{kept}")
    for key in ("train_loss", "test_loss"):
        if key in row and not math.isfinite(row[key]):
            what = key.replace("_", " ")
            raise TrainingDiverged(f"{what} is {row[key]} after epoch {epoch}: training diverged{_ADVICE}{kept}")


def _growth_warning(row: dict, first_loss: float | None) -> str | None:
    """A warning line when the epoch's training loss is far above the first step's."""
    if first_loss is None:
        return None
    scale = max(abs(first_loss), 1e-2)  # a first loss near 0 would make any loss look huge
    if abs(row["train_loss"]) <= LOSS_GROWTH_WARNING * scale:
        return None
    loss = row["train_loss"]
    return (f"warning: train loss {loss:.4g} in epoch {row['epoch']} is {abs(loss) / scale:.2g} "
            f"times the first step's {first_loss:.4g}: training is diverging (lower the learning rate, or clip "
            "the gradient norm)")


# ----------------------------------------------------------------------------- fit
def _rank_seed(seed: int, epoch: int, rank: int) -> int:
    """A seed for (run seed, epoch, rank): distinct streams of dropout masks per rank, and
    a resumed epoch draws what it would have drawn."""
    digest = hashlib.sha256(f"minidl-dropout:{seed}:{epoch}:{rank}".encode()).digest()
    return int.from_bytes(digest[:7], "little")


def _loader_identity(loader):
    """What tells the ranks' data apart: the loader's ``fingerprint()`` (a digest of its
    arrays and settings, :class:`~minidl.data.batching.BatchLoader`) and its length."""
    if loader is None:
        return None
    ident = {"type": type(loader).__name__, "batches": len(loader) if hasattr(loader, "__len__") else None}
    if hasattr(loader, "fingerprint"):
        ident["fingerprint"] = loader.fingerprint()
    return ident


def _epoch_row(epoch: int, tally: Tally, ev: dict | None) -> dict:
    row = {"epoch": epoch, "train_loss": tally.loss, "train_acc": tally.acc}
    if ev is not None:
        row.update(test_loss=ev["loss"], test_acc=ev["acc"], test_balanced_acc=ev["balanced_acc"])
        for c, a in enumerate(ev["per_class_acc"]):
            row[f"test_acc_class{c}"] = None if math.isnan(a) else float(a)
    return row


def _log_row(log, row: dict) -> None:
    msg = f"epoch {row['epoch']:3d}  train loss {row['train_loss']:.4f} acc {row['train_acc']:.4f}"
    if "test_loss" in row:
        msg += f"  test loss {row['test_loss']:.4f} acc {row['test_acc']:.4f}"
    log(msg + f"  ({row['seconds']:.1f} s)")


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
    config: dict | None = None,
    allow_config_change: bool = False,
    distributed=None,
) -> History:
    """Train ``model`` (see the model contract above) for ``epochs`` epochs; evaluate on
    ``test_loader`` after each.

    Args:
        train_loader: iterable of batches (``Batch`` or ``(x, y[, lengths])``), re-iterated
            every epoch. If it has ``state_dict``/``load_state_dict`` (``BatchLoader``), its
            state goes into the checkpoints.
        epochs: train up to this epoch (a resumed run continues from its checkpoint's).
        clip_grad: clip the global gradient norm to this value (None: no clipping).
        checkpoint_dir: write ``last.npz`` after each epoch that passes the guard,
            ``best.npz`` when the test accuracy improves, and ``history.json`` / ``.csv``.
        resume: continue from ``checkpoint_dir/last.npz`` if it exists.
        progress: tqdm bar per epoch; default only when stderr is a terminal.
        log: where the one-line summary per epoch goes (``print``; None for silence).
        config: the run's hyper-parameters (JSON-able), stored in the checkpoints and
            compared on resume; ``fit`` adds ``optimizer``, ``lr`` and ``clip_grad`` itself.
            Leave out what may change between a run and its resumption (``epochs``, paths).
        allow_config_change: on resume, continue with hyper-parameters that differ from
            the checkpoint's instead of refusing.
        distributed: the data-parallel hooks (module docstring), or None for one process.

    Returns:
        The :class:`History`. Raises :class:`TrainingDiverged` (the guard, module docstring)
        and :class:`~minidl.errors.CheckpointError` (unreadable checkpoint, changed
        hyper-parameters).
    """
    epochs = check_number(epochs, "epochs", "fit", low=0, integer=True)
    if clip_grad is not None:
        check_number(clip_grad, "clip_grad", "fit", low=0.0)
    device = device or model.device
    root = distributed is None or distributed.is_root
    log = log if root else None
    progress = (sys.stderr.isatty() if progress is None else progress) and root
    run_config = {**(config or {}), "optimizer": getattr(optimizer, "algorithm", type(optimizer).__name__),
                  "lr": optimizer.lr, "clip_grad": clip_grad}
    try:  # stored as JSON: refuse now what could not be stored after an epoch of training
        run_config = json.loads(json.dumps(run_config))
    except (TypeError, ValueError) as e:
        raise DTypeError(f"fit: config must hold JSON values (numbers, strings, lists, dicts): {e}") from None
    last_path = os.path.join(checkpoint_dir, "last.npz") if checkpoint_dir else None
    if resume and not checkpoint_dir:
        raise RangeError("fit: resume=True needs checkpoint_dir, got checkpoint_dir=None")
    if resume and os.path.exists(last_path):
        run = resume_run(last_path, model, optimizer, train_loader, run_config, allow_config_change, log)
    else:
        run = _Run(config=run_config, seed=int(json.loads(backend.get_rng_state())["seed"]))
    if distributed is not None:
        # before any collective that the ranks' settings could desynchronise: the same
        # hyper-parameters, data (the loader's seed included), epochs and resume point on every
        # rank, or a refusal on each. minidl's own seed may differ (it only seeds dropout, which
        # differs per rank anyway, and initial weights, which rank 0 broadcasts)
        if hasattr(distributed, "agree"):
            distributed.agree({"config": run_config, "epochs": epochs, "start_epoch": run.next_epoch,
                               "resume": bool(resume), "train_data": _loader_identity(train_loader),
                               "test_data": _loader_identity(test_loader)})
        distributed.broadcast_parameters(model)  # every rank starts from rank 0's weights

    def first_step(loss):
        if run.first_loss is None:
            run.first_loss = loss

    for epoch in range(run.next_epoch, epochs + 1):
        if distributed is not None:
            backend.manual_seed(_rank_seed(run.seed, epoch, distributed.rank))
        t0 = time.perf_counter()
        kept = (f"; the last good checkpoint (epoch {run.saved_epoch}) is kept in {last_path}"
                if last_path and run.saved_epoch else "")
        try:
            tally = train_one_epoch(model, loss_fn, optimizer, train_loader, epoch=epoch, device=device,
                                    clip_grad=clip_grad, predict=predict, distributed=distributed,
                                    progress=progress, desc=f"epoch {epoch}/{epochs}", on_first_step=first_step)
        except TrainingDiverged as e:
            raise TrainingDiverged(f"{e}{kept}") from None
        if tally.n == 0:
            raise ShapeError(f"fit: train_loader yielded no samples in epoch {epoch}")
        train_seconds = time.perf_counter() - t0
        ev = evaluate(model, loss_fn, test_loader, device, predict, distributed) if test_loader is not None else None
        row = _epoch_row(epoch, tally, ev)
        check_diverged(model, row, epoch, kept)  # the weights and the losses, before anything is written
        if run.changes:
            row["config_changes"], run.changes = run.changes, None
        row.update(train_seconds=round(train_seconds, 3), seconds=round(time.perf_counter() - t0, 3))
        run.history.append(**row)
        if log:
            _log_row(log, row)
            warning = _growth_warning(row, run.first_loss)
            if warning:
                log(warning)
        score = row.get("test_acc", row["train_acc"])
        improved = score > run.best_score
        run.best_score = max(run.best_score, score)
        if checkpoint_dir:
            if hasattr(optimizer, "consolidate_state_dict"):
                optimizer.consolidate_state_dict()  # sharded state: a collective, on every rank, before rank 0 saves
            if root:
                save_checkpoint(checkpoint_dir, model, optimizer, train_loader, run, epoch, improved)
            run.saved_epoch = epoch
    return run.history
