"""Atomic file writes: the one place in minidl that renames a finished file into place.

A checkpoint, a history file, a figure, a token cache or a download must never be seen
half-written: a crash (or ``kill -9``) in the middle of a write has to leave the previous
file intact. The recipe, used by every writer of the package::

    write to  <folder>/.tmp-<pid>-<random>-<name>     a fresh temporary file beside the target
    flush + fsync                                    the bytes are on disk, not in a cache
    os.replace(temporary, target)                    atomic on POSIX and Windows (same folder)
    fsync the folder                                 the rename itself survives a power cut

so ``target`` is either the old file or the complete new one, never a mixture. A process
killed between the first and the third step leaves its temporary file behind; the next
save of the same target removes it (its process id, in the name, no longer runs).

* :func:`atomic_write`: ``with atomic_write(path, "w") as f: f.write(text)`` (or ``"wb"``;
  ``numpy.savez(f, ...)`` and ``figure.savefig(f, format="png")`` write to ``f`` too);
* :func:`publish`: rename an already complete file (a finished download, an extracted
  folder built in :func:`temporary_folder`) onto its final name: the single
  ``os.replace`` of the package.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from pathlib import Path

from .errors import RangeError

__all__ = ["atomic_write", "atomic_write_bytes", "atomic_write_text", "publish", "temporary_folder",
           "remove_stale_temporaries", "TMP_PREFIX"]

TMP_PREFIX = ".tmp-"
_live: set[str] = set()  # temporaries this process is writing right now (never "stale")


def _fsync_folder(folder: Path) -> None:
    """Make a rename in ``folder`` durable; a no-op where folders cannot be opened (Windows)."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:  # some file systems refuse fsync on a folder: the rename is still atomic
        pass
    finally:
        os.close(fd)


def publish(tmp: str | os.PathLike, path: str | os.PathLike) -> Path:
    """Rename the complete file (or folder) ``tmp`` onto ``path``, atomically, and return ``path``.

    ``tmp`` must lie in the same folder as ``path`` (a rename across file systems is a copy,
    not atomic). A folder can replace only a missing or empty folder.
    """
    path = Path(path)
    os.replace(tmp, path)
    _fsync_folder(path.parent)
    return path


def _pid_running(pid: int) -> bool:
    if pid == os.getpid():
        return False  # our own temporaries in _live are skipped before this is asked
    if os.name != "posix":
        return True  # no safe liveness probe (os.kill would terminate): keep the file
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # EPERM: it runs, as another user
        return True
    return True


def remove_stale_temporaries(path: str | os.PathLike) -> list[Path]:
    """Delete the temporaries of ``path`` left by writers that were killed; return them.

    A temporary is ``.tmp-<pid>-<random>-<name>``; it is stale when no process ``pid`` runs
    (or ``pid`` is this process and the file is not one it is writing now).
    """
    path = Path(path)
    removed = []
    suffix = "-" + path.name
    try:
        entries = list(os.scandir(path.parent))
    except FileNotFoundError:
        return removed
    for e in entries:
        if not (e.name.startswith(TMP_PREFIX) and e.name.endswith(suffix)) or e.path in _live:
            continue
        pid, _, rest = e.name[len(TMP_PREFIX): -len(suffix)].partition("-")
        if pid.isdigit() and rest and "-" not in rest and not _pid_running(int(pid)):
            with contextlib.suppress(FileNotFoundError):
                if e.is_dir(follow_symlinks=False):
                    shutil.rmtree(e.path)  # a folder being built (an extracted data set)
                else:
                    os.unlink(e.path)
                removed.append(Path(e.path))
    return removed


@contextlib.contextmanager
def atomic_write(path: str | os.PathLike, mode: str = "wb", encoding: str | None = "utf-8"):
    """Open a temporary file beside ``path`` for writing; on a clean exit make it ``path``.

    Args:
        path: the target; its folder is created if missing.
        mode: ``"wb"`` (bytes, ``numpy.savez``, ``savefig``) or ``"w"`` (text).
        encoding: for text mode (UTF-8 by default, whatever the locale).

    On an exception inside the ``with`` block the temporary is deleted and ``path`` is left
    as it was. Stale temporaries of ``path`` from killed writers are removed first.
    """
    if mode not in ("w", "wb"):
        raise RangeError(f"atomic_write: mode must be 'w' or 'wb', got {mode!r}")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    remove_stale_temporaries(path)
    fd, tmp = tempfile.mkstemp(prefix=f"{TMP_PREFIX}{os.getpid()}-", suffix=f"-{path.name}", dir=path.parent)
    _live.add(tmp)
    try:
        with os.fdopen(fd, mode, **({"encoding": encoding} if mode == "w" else {})) as f:
            yield f
            f.flush()
            os.fsync(f.fileno())
        publish(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    finally:
        _live.discard(tmp)


def temporary_folder(path: str | os.PathLike) -> Path:
    """A fresh empty folder beside ``path`` to build it in, then :func:`publish` it onto
    ``path``; stale ones of killed writers are removed first."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    remove_stale_temporaries(path)
    return Path(tempfile.mkdtemp(prefix=f"{TMP_PREFIX}{os.getpid()}-", suffix=f"-{path.name}", dir=path.parent))


def atomic_write_bytes(path: str | os.PathLike, data: bytes) -> Path:
    """Write ``data`` to ``path`` atomically; returns ``path``."""
    with atomic_write(path, "wb") as f:
        f.write(data)
    return Path(path)


def atomic_write_text(path: str | os.PathLike, text: str) -> Path:
    """Write ``text`` (UTF-8) to ``path`` atomically; returns ``path``."""
    with atomic_write(path, "w") as f:
        f.write(text)
    return Path(path)
