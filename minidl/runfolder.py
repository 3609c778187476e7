"""One run per output folder: checked before any data is read, never silently overwritten,
never shared by two runs at once.

:func:`open_run_folder` is what an example calls right after parsing its flags, before it
loads data or builds a model, so that a folder it cannot use fails in a second, not after an
epoch of training:

1. ``--out`` must name a folder: ``""`` or an existing file is refused;
2. the folder is created if missing, and a probe file is written and removed there (a
   read-only mount or a folder of another user fails here, with the system's reason);
3. a lock file ``run.lock`` is created exclusively (``O_CREAT | O_EXCL``, atomic on local
   file systems) holding the process id, the host name and the start time. A lock of a
   live process refuses the second run, naming that process. A lock whose process is no
   longer running on this host (killed, crashed, the machine rebooted) is *stale*: it is
   taken over, with a line saying so. A lock written on another host cannot be checked from
   here: it is refused, and the message says to delete the lock file once that run is
   gone. The lock is removed when the run ends (normally, on an error, or on Ctrl-C);
4. a folder that already holds a run (``last.npz``, ``best.npz``, ``history.json``,
   ``history.csv`` or ``summary.json``) is refused unless ``resume`` (continue it) or
   ``overwrite`` (delete that run's files first and start over).

Every refusal is a :class:`~minidl.errors.RunFolderError` (or a
:class:`~minidl.errors.RangeError` for contradictory flags) whose message names the folder
and the ways on; the examples print it as one ``error:`` line. Under ``mpiexec`` rank 0
alone owns the folder (it alone writes there): the other ranks skip all of this.
"""

from __future__ import annotations

import atexit
import contextlib
import json
import os
import socket
import time

from .errors import RangeError, RunFolderError
from .fileio import _pid_running

__all__ = ["RUN_FILES", "OUTPUT_FILES", "LOCK_NAME", "RunFolder", "open_run_folder", "read_lock"]

#: the files whose presence means "this folder holds a run"
RUN_FILES = ("last.npz", "best.npz", "history.json", "history.csv", "summary.json")
#: what ``overwrite`` deletes: the run files and the examples' figures and extra outputs
OUTPUT_FILES = RUN_FILES + ("curves.png", "confusion.png", "grad_norms.json", "grad_norms.png")
LOCK_NAME = "run.lock"


def read_lock(path: str) -> dict | None:
    """The lock file's ``{"pid", "host", "started"}``, or None when it is unreadable
    (a writer killed between creating and filling it)."""
    try:
        with open(path, encoding="utf-8") as f:
            info = json.load(f)
        return info if isinstance(info, dict) and isinstance(info.get("pid"), int) else None
    except (OSError, ValueError):
        return None


class RunFolder:
    """A folder checked by :func:`open_run_folder` and locked by this process.

    ``release()`` (also at exit, and by ``with``) removes the lock if it is still ours.
    """

    def __init__(self, path: str, lock_path: str | None):
        self.path, self.lock_path = path, lock_path
        if lock_path:
            atexit.register(self.release)

    def release(self) -> None:
        """Remove ``run.lock`` if it is still this process's (same process id and host): a
        lock that another run has taken over is left alone. A second call does nothing."""
        if not self.lock_path:
            return
        info = read_lock(self.lock_path)
        if info is not None and info.get("pid") == os.getpid() and info.get("host") == socket.gethostname():
            with contextlib.suppress(FileNotFoundError):
                os.unlink(self.lock_path)
        self.lock_path = None

    def __enter__(self) -> "RunFolder":
        return self

    def __exit__(self, *exc) -> None:
        self.release()

    def __repr__(self) -> str:
        return f"RunFolder({self.path!r}, locked={self.lock_path is not None})"


def _check_writable(out: str) -> None:
    if os.path.exists(out) and not os.path.isdir(out):
        raise RunFolderError(f"--out {out} is a file, not a folder: pass a folder for the run's outputs")
    try:
        os.makedirs(out, exist_ok=True)
        probe = os.path.join(out, f".probe-{os.getpid()}")
        with open(probe, "w", encoding="utf-8") as f:
            f.write("minidl probe write\n")
        os.unlink(probe)
    except OSError as e:
        raise RunFolderError(f"--out {out} is not a writable folder ({e.strerror or e}): pass a folder this user "
                             "can write to") from None


def _take_lock(out: str, log) -> str:
    """Create ``out/run.lock`` for this process; take over a stale one; refuse a live one."""
    path = os.path.join(out, LOCK_NAME)
    host = socket.gethostname()
    for _ in range(3):  # a lost race with another starter is retried, then said
        try:
            fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
        except FileExistsError:
            info = read_lock(path)
            if info is None or (info.get("host") == host and
                                (info["pid"] == os.getpid() or not _pid_running(info["pid"]))):
                if info is not None and info["pid"] != os.getpid() and log:
                    log(f"{out}: taking over the lock of process {info['pid']} on {host}, which no longer runs "
                        f"(its run ended without removing {path})")
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(path)
                continue
            started = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(info.get("started", 0)))
            raise RunFolderError(
                f"--out {out} is in use by another run: process {info['pid']} on {info.get('host')} (started "
                f"{started}) holds {path}. Wait for it to end or choose another --out; if that process is gone "
                "(a run on another machine that was killed), delete the lock file") from None
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump({"pid": os.getpid(), "host": host, "started": time.time()}, f)
        return path
    raise RunFolderError(f"--out {out}: could not take the lock {path} (another run keeps creating it)")


def open_run_folder(out, *, resume: bool = False, overwrite: bool = False, is_root: bool = True,
                    log=print) -> RunFolder:
    """Check, lock and (with ``overwrite``) empty the run folder ``out``; see the module docstring.

    Args:
        out: the folder (``--out``).
        resume: the run continues the one in ``out`` (``--resume``).
        overwrite: delete the run in ``out`` and start over (``--overwrite``).
        is_root: False on MPI ranks other than 0: nothing is checked or locked there.
        log: where the take-over of a stale lock is said (None: silence).
    """
    if resume and overwrite:
        raise RangeError("--resume continues the run in --out and --overwrite deletes it: give one of them")
    if out is None or not str(out).strip():
        raise RunFolderError(f"--out must name a folder for the run's outputs, got {out!r}")
    out = os.fspath(out)
    if not is_root:
        return RunFolder(out, None)
    _check_writable(out)
    folder = RunFolder(out, _take_lock(out, log))
    held = [name for name in RUN_FILES if os.path.exists(os.path.join(out, name))]
    if held and not resume and not overwrite:
        folder.release()
        raise RunFolderError(f"--out {out} already holds a run ({', '.join(held)}): --resume continues it, "
                             "--overwrite deletes it and starts over, or choose another --out")
    if overwrite:
        for name in OUTPUT_FILES:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(os.path.join(out, name))
    return folder
