"""Where data sets live: the cache folder, and the one search order of every loader.

Every loader (:mod:`~minidl.data.imdb`, :mod:`~minidl.data.names`,
:mod:`~minidl.data.cifar10`) finds its data the same way, first match wins:

1. ``path=`` (``--data`` in the examples): a folder or an archive;
2. ``$MINIDL_DATA``: a folder holding the data set (or its archive);
3. the cache folder, :func:`default_cache_dir`;
4. only when downloading was asked for (``download=True``): fetch it into the cache folder.

When nothing is found the loader raises :class:`DataNotFoundError`, which lists where it
looked and what to do. It is a :class:`~minidl.errors.DataError` and a
``FileNotFoundError``, so either ``except`` catches it.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Callable

from ..errors import DataError

__all__ = ["DataNotFoundError", "default_cache_dir", "cache_dir_or_default", "locate"]


class DataNotFoundError(DataError, FileNotFoundError):
    """No copy of a data set was found where the loader looked (and download was not asked)."""


def default_cache_dir() -> Path:
    """``$MINIDL_CACHE`` if set, else ``$XDG_CACHE_HOME/minidl``, else ``~/.cache/minidl``."""
    env = os.environ.get("MINIDL_CACHE")
    if env:
        return Path(env).expanduser()
    xdg = os.environ.get("XDG_CACHE_HOME")
    return (Path(xdg).expanduser() if xdg else Path.home() / ".cache") / "minidl"


def cache_dir_or_default(cache_dir) -> Path:
    """``cache_dir`` as a Path, or :func:`default_cache_dir` when it is None."""
    return Path(cache_dir).expanduser() if cache_dir is not None else default_cache_dir()


def locate(path, cache_dir: Path, resolve: Callable, *, not_a_dataset: str, fetch: Callable | None = None,
           env_note: str = "", cache_note: str = "", not_found: Callable):
    """Find a data set in the order of the module docstring and return what ``resolve`` found.

    Args:
        path: what the user passed (``None``: search).
        resolve: ``Path -> (kind, Path) | None`` for one place (e.g. ``("dir", folder)`` or
            ``("tar", archive)``).
        not_a_dataset: completes "path=... is neither ..." when ``path`` holds no data set.
        fetch: ``() -> (kind, Path)``, or None when downloading is not allowed.
        env_note, cache_note: what was missing there, for the "looked in" list.
        not_found: ``looked (list of str) -> message`` of the final :class:`DataNotFoundError`.
    """
    if path is not None:
        found = resolve(Path(path).expanduser())
        if found is None:
            raise DataNotFoundError(f"path={str(path)!r} is neither {not_a_dataset}")
        return found
    looked = []
    env = os.environ.get("MINIDL_DATA")
    if env:
        found = resolve(Path(env).expanduser())
        if found is not None:
            return found
        looked.append(f"$MINIDL_DATA={env}{env_note}")
    else:
        looked.append("$MINIDL_DATA (not set)")
    found = resolve(cache_dir)
    if found is not None:
        return found
    looked.append(f"the cache folder {cache_dir}{cache_note}")
    if fetch is not None:
        return fetch()
    raise DataNotFoundError(not_found(looked))
