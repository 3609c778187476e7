"""Checkpoints as ``.npz``: atomic writes, no pickle on load.

``save(state, path)`` takes a (possibly nested) dict of arrays, numbers and strings —
e.g. ``{"model": model.state_dict(), "optim": opt.state_dict(), "epoch": 3}`` — flattens
the keys with "/" (``"model/fc.weight"``), copies device arrays to the host, writes a
temporary file beside ``path`` and renames it over ``path``: a crash mid-write leaves
the previous checkpoint intact. ``load(path)`` reads with ``allow_pickle=False`` (an
``.npz`` holding Python objects is refused, never executed) and rebuilds the nesting.
"""

from __future__ import annotations

import os
import tempfile

import numpy as np

from .backend import asnumpy

__all__ = ["save", "load"]


def _flatten(d: dict, prefix: str = "") -> dict:
    out = {}
    for k, v in d.items():
        k = str(k)
        if "/" in k:
            raise ValueError(f"checkpoint keys may not contain '/': {k!r}")
        key = f"{prefix}/{k}" if prefix else k
        if isinstance(v, dict):
            if not v:
                out[key + "/"] = np.zeros(0)  # keeps an empty dict visible
            out.update(_flatten(v, key))
        elif v is None:
            continue
        elif isinstance(v, str):
            out[key] = np.array(v)
        else:
            arr = np.asarray(asnumpy(v)) if hasattr(v, "shape") else np.asarray(v)
            if arr.dtype == object:
                raise TypeError(f"checkpoint value {key!r} is not an array, number or string")
            out[key] = arr
    return out


def save(state: dict, path) -> str:
    """Write ``state`` to ``path`` (``.npz``) atomically; returns the path."""
    path = os.fspath(path)
    if not path.endswith(".npz"):
        path += ".npz"
    folder = os.path.dirname(os.path.abspath(path))
    os.makedirs(folder, exist_ok=True)
    flat = _flatten(state)
    fd, tmp = tempfile.mkstemp(prefix=".tmp-", suffix=".npz", dir=folder)
    try:
        with os.fdopen(fd, "wb") as f:
            np.savez(f, **flat)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    return path


def load(path) -> dict:
    """Read a checkpoint written by :func:`save` (host arrays; 0-d arrays as numbers/strings)."""
    out: dict = {}
    with np.load(os.fspath(path), allow_pickle=False) as z:
        for key in z.files:
            parts = key.split("/")
            node = out
            for p in parts[:-1]:
                node = node.setdefault(p, {})
            if parts[-1] == "":
                continue
            v = z[key]
            if v.ndim == 0:
                v = v.item()
            node[parts[-1]] = v
    return out
