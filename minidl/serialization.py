"""Checkpoints as ``.npz``: atomic writes, no pickle on load, every damaged file named.

``save(state, path)`` takes a (possibly nested) dict of arrays, numbers and strings —
e.g. ``{"model": model.state_dict(), "optim": opt.state_dict(), "epoch": 3}`` — flattens
the keys with "/" (``"model/fc.weight"``), copies device arrays to the host and writes
the file with :func:`minidl.fileio.atomic_write`: a crash mid-write leaves the previous
checkpoint intact, and the temporary file it leaves is removed by the next save.

``load(path)`` reads with ``allow_pickle=False`` (an ``.npz`` holding Python objects is
refused, never unpickled) and rebuilds the nesting. A file that is not a whole ``.npz`` —
empty, truncated, a ``.npy`` or a text file renamed ``.npz``, an array that does not
decompress — raises :class:`~minidl.errors.CheckpointError` naming the path and what is
wrong. :func:`check_state_value` is the dtype rule for copying a loaded array into a
parameter (a complex array never lands silently in a float parameter).
"""

from __future__ import annotations

import os
import zipfile

import numpy as np

from .backend import asnumpy
from .checks import check_state_value  # the dtype rule lives with the other checks
from .errors import CheckpointError, DTypeError, RangeError
from .fileio import atomic_write

__all__ = ["save", "load", "check_state_value"]

_ZIP_MAGIC = (b"PK\x03\x04", b"PK\x05\x06")  # a zip with members, an empty zip
_NPY_MAGIC = b"\x93NUMPY"


def _flatten(d: dict, prefix: str = "") -> dict:
    out = {}
    for k, v in d.items():
        k = str(k)
        if "/" in k:
            raise RangeError(f"save: checkpoint keys may not contain '/': {k!r}")
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
                raise DTypeError(f"save: checkpoint value {key!r} is not an array, number or string")
            out[key] = arr
    return out


def save(state: dict, path) -> str:
    """Write ``state`` to ``path`` (``.npz``) atomically; returns the path."""
    path = os.fspath(path)
    if not path.endswith(".npz"):
        path += ".npz"
    flat = _flatten(state)
    with atomic_write(path, "wb") as f:
        np.savez(f, **flat)
    return path


def _check_container(path: str) -> None:
    """Refuse what is not an ``.npz`` before NumPy guesses (it would call a text file
    "pickled data" and a ``.npy`` a context-manager error)."""
    with open(path, "rb") as f:
        head = f.read(8)
    if not head:
        raise CheckpointError(f"checkpoint {path} is empty (0 bytes): the save that wrote it did not finish; "
                              "use another checkpoint or train from scratch")
    if head.startswith(_NPY_MAGIC):
        raise CheckpointError(f"checkpoint {path} is a single .npy array, not an .npz checkpoint written by "
                              "minidl.save")
    if not head.startswith(_ZIP_MAGIC):
        raise CheckpointError(f"checkpoint {path} is not an .npz file (it starts with {head!r}, an .npz starts "
                              "with b'PK'); was another file renamed .npz?")


def _read_array(z, key: str, path: str):
    try:
        return z[key]
    except ValueError as e:
        if "allow_pickle" in str(e) or "Object arrays" in str(e):
            raise CheckpointError(f"checkpoint {path}: {key!r} holds Python objects (an object array); refused "
                                  "(read with allow_pickle=False, never unpickled): a minidl checkpoint holds only "
                                  "numbers and strings") from None
        raise CheckpointError(f"checkpoint {path}: {key!r} cannot be read ({e}); the file is damaged") from None
    except (zipfile.BadZipFile, EOFError, OSError, KeyError) as e:
        raise CheckpointError(f"checkpoint {path}: {key!r} cannot be read ({type(e).__name__}: {e}); the file "
                              "is truncated or damaged, use another checkpoint") from None


def load(path) -> dict:
    """Read a checkpoint written by :func:`save` (host arrays; 0-d arrays as numbers/strings).

    Raises ``FileNotFoundError`` when ``path`` is missing and
    :class:`~minidl.errors.CheckpointError` (naming ``path``) when it is not a whole ``.npz``
    of plain arrays.
    """
    path = os.fspath(path)
    _check_container(path)
    out: dict = {}
    # the file is opened here, not by np.load: np.load leaves its own handle open when the
    # zip's directory cannot be read (a truncated file), one leaked descriptor per bad load
    with open(path, "rb") as f:
        try:
            z = np.load(f, allow_pickle=False)
        except (zipfile.BadZipFile, EOFError, ValueError, OSError) as e:
            raise CheckpointError(f"checkpoint {path} is truncated or damaged ({type(e).__name__}: {e}); the "
                                  "save that wrote it did not finish, use another checkpoint") from None
        with z:
            _read_tree(z, path, out)
    return out


def _read_tree(z, path, out: dict) -> None:
    """The arrays of the open ``.npz`` ``z`` into ``out``, nested by the ``/`` in their keys."""
    for key in z.files:
        parts = key.split("/")
        node = out
        for p in parts[:-1]:
            node = node.setdefault(p, {})
            if not isinstance(node, dict):
                raise CheckpointError(f"checkpoint {path}: key {key!r} nests under a value, not a dict")
        if parts[-1] == "":
            continue
        v = _read_array(z, key, path)
        if v.ndim == 0:
            v = v.item()
        node[parts[-1]] = v
