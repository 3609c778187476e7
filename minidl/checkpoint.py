"""Checkpoints of a training run and exact resume: what ``fit`` writes after every epoch
and reads back with ``resume=True``.

``last.npz`` (atomic, :func:`minidl.serialization.save`) holds the model, the optimizer,
every random generator (the host's and each device's: :func:`minidl.backend.get_rng_state`),
the loader's epoch counter, the history, the best score so far, the first step's loss and
the run's hyper-parameters; ``best.npz`` the best epoch's weights; ``history.json``/``.csv``
the rows. :func:`resume_run` restores all of it, so a resumed run continues as if never
stopped: same batches, same dropout masks, same final weights (``tests/train/test_fit.py``).

A save that fails (a full disk, a folder gone read-only) raises
:class:`~minidl.errors.CheckpointError` naming the file and the reason; the previous
checkpoint is intact, because every file is replaced atomically (:mod:`minidl.fileio`).

The run folder around these files (one run per folder, a lock, the probe write before
any data is read) is :mod:`minidl.runfolder`.
"""

from __future__ import annotations

import json
import math
import os
from dataclasses import dataclass, field

from . import backend
from .errors import CheckpointError, MinidlError
from .history import History
from .module import Module
from .optim import Optimizer
from .serialization import load, save

__all__ = ["save_checkpoint", "resume_run", "read_checkpoint", "config_changes", "non_finite_names"]


def non_finite_names(model: Module) -> str:
    """The names of the parameters and floating buffers holding NaN or inf ("" if none)."""
    named = [(name, a) for name, a in model.state_dict().items() if a.dtype.kind == "f"]
    if not named:
        return ""
    xp = backend.get_array_module(named[0][1])
    finite = backend.asnumpy(xp.stack([xp.isfinite(a).all() for _, a in named]))  # one copy, not one each
    bad = [name for (name, _), ok in zip(named, finite) if not ok]
    return ", ".join(bad[:5]) + (f" and {len(bad) - 5} more" if len(bad) > 5 else "")


@dataclass
class _Run:
    """What a run carries from epoch to epoch, and what ``last.npz`` restores."""

    config: dict
    seed: int
    history: History = field(default_factory=History)
    next_epoch: int = 1
    best_score: float = -math.inf
    first_loss: float | None = None
    saved_epoch: int | None = None  # the last good checkpoint's epoch
    changes: str | None = None  # hyper-parameters changed at resume, noted in the next row


def save_checkpoint(checkpoint_dir: str, model: Module, optimizer: Optimizer, train_loader, run: _Run,
                    epoch: int, improved: bool) -> None:
    """``best.npz`` (when ``improved``), ``last.npz`` and ``history.json``/``.csv``.

    Raises :class:`~minidl.errors.CheckpointError` when a file cannot be written (a full
    disk, a read-only folder): each file is replaced atomically, so ``last.npz`` is then
    still the previous epoch's."""
    config = json.dumps(run.config, sort_keys=True)
    target = checkpoint_dir
    try:
        if improved:
            target = os.path.join(checkpoint_dir, "best.npz")
            best = {"model": model.state_dict(), "epoch": epoch, "acc": run.best_score, "config": config}
            save(best, target)
        state = {"model": model.state_dict(), "optim": optimizer.state_dict(), "rng": backend.get_rng_state(),
                 "history": run.history.to_json(), "epoch": epoch, "best_acc": run.best_score, "config": config,
                 "seed": run.seed}
        if run.first_loss is not None:
            state["first_loss"] = run.first_loss
        if hasattr(train_loader, "state_dict"):
            state["loader"] = train_loader.state_dict()
        target = os.path.join(checkpoint_dir, "last.npz")
        save(state, target)
        for name in ("history.json", "history.csv"):
            target = os.path.join(checkpoint_dir, name)
            run.history.save(target)
    except OSError as e:
        kept = (f"the checkpoint of epoch {run.saved_epoch} is intact in {os.path.join(checkpoint_dir, 'last.npz')}"
                if run.saved_epoch else "no earlier checkpoint was written")
        raise CheckpointError(f"could not write {target} after epoch {epoch}: {e.strerror or e}; {kept} "
                              "(free some space or choose another --out, then --resume)") from None


def read_checkpoint(path: str) -> dict:
    """The dict of a ``last.npz`` written by :func:`save_checkpoint`: ``model``, ``optim``,
    ``rng``, ``history``, ``epoch``, ``best_acc`` (and ``config``, ``seed``, ``first_loss``
    where stored). A missing, truncated or foreign file, or one without these keys, raises
    :class:`~minidl.errors.CheckpointError` naming ``path``."""
    try:
        ck = load(path)
    except MinidlError:
        raise
    except Exception as e:  # a truncated or foreign file: say which one
        raise CheckpointError(f"cannot read the checkpoint {path}: {type(e).__name__}: {e}") from e
    missing = {"model", "optim", "rng", "history", "epoch", "best_acc"} - set(ck)
    if missing:
        raise CheckpointError(f"the checkpoint {path} lacks {sorted(missing)}: not written by minidl.train.fit")
    return ck


def config_changes(old: dict, new: dict) -> dict:
    """``{key: (checkpoint's value, this run's value)}`` for every key that differs."""
    old, new = json.loads(json.dumps(old)), json.loads(json.dumps(new))  # tuples vs lists, as stored
    return {k: (old.get(k), new.get(k)) for k in sorted(set(old) | set(new)) if old.get(k) != new.get(k)}


def resume_run(path: str, model: Module, optimizer: Optimizer, train_loader, config: dict,
               allow_config_change: bool = False, log=print) -> _Run:
    """Restore model, optimizer, generators, loader and history from ``path`` (``last.npz``).

    Refuses (:class:`CheckpointError`) a checkpoint whose hyper-parameters differ from
    ``config``, unless ``allow_config_change``: then the new values hold from here on (the
    new learning rate replaces the stored one; a new optimizer class starts fresh).
    """
    ck = read_checkpoint(path)
    epoch = int(ck["epoch"])
    changes = config_changes(json.loads(ck["config"]), config) if "config" in ck else {}
    if "config" not in ck and log:
        log(f"resume: {path} stores no hyper-parameters (written before minidl kept them): not compared")
    listed = ", ".join(f"{k} {old!r} -> {new!r}" for k, (old, new) in changes.items())
    if changes and not allow_config_change:
        raise CheckpointError(
            f"resume: {path} (epoch {epoch}) was trained with other hyper-parameters than this run asks for "
            f"({listed}); resume with the checkpoint's values, or allow the change (allow_config_change=True; "
            "--allow-config-change in the examples) to continue with the new ones from epoch "
            f"{epoch + 1}")
    lr = optimizer.lr
    model.load_state_dict(ck["model"])
    if "optimizer" not in changes:
        optimizer.load_state_dict(ck["optim"])
    if "lr" in changes:
        optimizer.lr = lr
    missed = backend.set_rng_state(ck["rng"])
    if missed and log:
        log(f"resume: the random generator of {', '.join(missed)} could not be restored from {path} (another "
            "device, or a GPU of another size): it starts again from the seed, so dropout masks differ from "
            "an uninterrupted run")
    if "loader" in ck and hasattr(train_loader, "load_state_dict"):
        train_loader.load_state_dict(ck["loader"])
    run = _Run(config=config, seed=int(ck.get("seed", json.loads(ck["rng"])["seed"])),
               history=History.from_json(ck["history"]), next_epoch=epoch + 1, best_score=float(ck["best_acc"]),
               first_loss=float(ck["first_loss"]) if "first_loss" in ck else None, saved_epoch=epoch,
               changes=listed or None)
    bad = non_finite_names(model)
    if bad:
        raise CheckpointError(f"the checkpoint {path} holds NaN or inf parameters ({bad}): it was written after "
                              "training had diverged; start again without resume")
    if log:
        log(f"resumed from {path} after epoch {epoch}" + (f"; changed: {listed}" if listed else ""))
    return run
