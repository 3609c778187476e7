"""A PyTorch twin's checkpoint: everything that decides its next epoch, in an ``.npz``
without pickle, so that ``--resume`` continues as if the run had never stopped.

``OUT/torch_last.npz`` (written atomically after every epoch by :func:`minidl.save`, read
by :func:`minidl.load` with ``allow_pickle=False``) holds::

    model/<name>              the torch module's state_dict (weights, BatchNorm statistics)
    optim/<i>/exp_avg         Adam's first moment of the i-th parameter (optimizer order)
    optim/<i>/exp_avg_sq      its second moment
    optim/<i>/step            its step count
    torch_rng                 torch.get_rng_state(): the uint8 state the dropout masks come from
    loader/seed, loader/epoch the training loader's state_dict: epoch e's batches (their order,
                              crops and flips) depend on (seed, e) alone
    history                   the history rows so far (JSON text)
    meta                      JSON text: the epoch, the settings, the wall time so far, the
                              epochs after which the run was resumed, and the twin's own
                              extra state (the gradient-norm rows and step counter of
                              benchmarks/imdb_deep_torch.py)

The minidl model, its data and its loaders are rebuilt by the example's ``prepare`` from the
seed on resume (they are the same every time), so only the loader's epoch counter is stored.
The settings (``{"--seed": 0, "--width": 16, ...}``) are compared before any data is read:
a resume with another value is refused in one ``error:`` line naming the flag and the stored
value (exit status 2), as the examples refuse a checkpoint of another net.
"""

from __future__ import annotations

import json
import os
import sys

import numpy as np
import torch

import minidl
from minidl.errors import CheckpointError
from minidl.history import History

CHECKPOINT = "torch_last.npz"


def torch_state(tm: torch.nn.Module, opt: torch.optim.Optimizer) -> dict:
    """The module's state_dict and Adam's per-parameter state as host arrays (nested dict
    for :func:`minidl.save`); parameters are numbered in the optimizer's order."""
    params = [p for g in opt.param_groups for p in g["params"]]
    optim = {}
    for i, p in enumerate(params):
        state = opt.state.get(p)
        if state:
            optim[str(i)] = {k: np.array(v.detach().cpu().numpy()) for k, v in state.items()}
    return {"model": {k: np.array(v.detach().cpu().numpy()) for k, v in tm.state_dict().items()},
            "optim": optim, "torch_rng": torch.get_rng_state().numpy().copy()}


def load_torch_state(tm: torch.nn.Module, opt: torch.optim.Optimizer, ck: dict, path: str) -> None:
    """Put :func:`torch_state`'s arrays back: the module's tensors (in their own dtypes),
    Adam's moments and step counts, torch's generator. A shape that does not match raises
    :class:`~minidl.errors.CheckpointError` naming ``path``."""
    current = tm.state_dict()
    stored = ck.get("model", {})
    if set(stored) != set(current):
        raise CheckpointError(f"the checkpoint {path} holds the weights of another net "
                              f"({sorted(set(stored) ^ set(current))[:3]} ...)")
    state = {}
    for name, now in current.items():
        value = torch.from_numpy(np.array(stored[name])).to(now.dtype)
        if value.shape != now.shape:
            raise CheckpointError(f"the checkpoint {path}: {name} has shape {tuple(value.shape)}, the net "
                                  f"{tuple(now.shape)}")
        state[name] = value
    tm.load_state_dict(state, strict=True)
    sd = opt.state_dict()  # param_groups (lr, betas, eps) as this run built them
    sd["state"] = {int(i): {k: torch.from_numpy(np.array(v)) if np.ndim(v) else torch.tensor(float(v))
                            for k, v in s.items()}
                   for i, s in ck.get("optim", {}).items()}
    opt.load_state_dict(sd)
    torch.set_rng_state(torch.from_numpy(np.array(ck["torch_rng"], dtype=np.uint8)))


def save_checkpoint(out: str, tm, opt, loader, history: History, meta: dict) -> str:
    """Write ``OUT/torch_last.npz`` atomically (the previous one stays intact until the new
    one is complete); ``meta`` must be JSON (epoch, settings, ...)."""
    state = torch_state(tm, opt)
    state.update(loader=loader.state_dict(), history=history.to_json(), meta=json.dumps(meta))
    return minidl.save(state, os.path.join(out, CHECKPOINT))


def read_checkpoint(out: str) -> dict | None:
    """The checkpoint in ``out`` with its ``meta`` and ``history`` decoded, or None when
    there is none. A damaged or foreign file raises :class:`~minidl.errors.CheckpointError`."""
    path = os.path.join(out, CHECKPOINT)
    if not os.path.exists(path):
        return None
    ck = minidl.load(path)
    missing = {"model", "optim", "torch_rng", "loader", "history", "meta"} - set(ck)
    if missing:
        raise CheckpointError(f"the checkpoint {path} lacks {sorted(missing)}: not written by a PyTorch twin")
    ck["meta"], ck["history"] = json.loads(ck["meta"]), History.from_json(ck["history"])
    return ck


def refuse_other_settings(prog: str, path: str, stored: dict, settings: dict) -> None:
    """Exit (status 2, one ``error:`` line on stderr) when a setting of this run differs
    from the checkpoint's; each difference is named with its flag and both values."""
    settings = json.loads(json.dumps(settings))  # tuples as lists, as stored
    diff = [f"{flag} {stored.get(flag)!r} (this run: {settings.get(flag)!r})"
            for flag in sorted(set(stored) | set(settings)) if stored.get(flag) != settings.get(flag)]
    if diff:
        print(f"{prog}: error: --resume: the checkpoint {path} was trained with {'; '.join(diff)}; resume with "
              "the checkpoint's settings, or start the other run in another --out", file=sys.stderr)
        raise SystemExit(2)
