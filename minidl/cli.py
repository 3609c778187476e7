"""What the example scripts share on the command line: one set of flag validators, the run
folder, data that cannot be fetched, and the errors a user meets, each said in one line.

**Flags.** Every example gives its numeric flags an argparse ``type=`` from here
(:func:`positive_int`, :func:`positive_float`, :func:`probability`, :func:`seed`,
:func:`device`, ...): a value out of range exits with code 2 and one ``error: argument
--lr: ...`` line, while argparse parses, before any data is read or any work is done.

**Errors.** An example's ``__main__`` block is ``sys.exit(run(main, sys.argv[1:]))``: exit
code 0, or 1 after one ``error:`` line on stderr for every :mod:`minidl.errors` error (no
data set, a damaged archive or checkpoint, a diverged run, a run folder in use, ...) and for
the system's refusals (a missing file, a full disk, no memory left). Any other exception is
a bug and keeps its traceback.

**MPI.** Under ``mpiexec`` a rank that stops with such an error (or with argparse's exit 2)
ends the whole job at once (:func:`minidl.distributed.abort_job`): the other ranks would
otherwise wait forever in their next collective.
"""

from __future__ import annotations

import argparse
import atexit
import http.client
import math
import os
import re
import sys
import urllib.error

from .backend import MAX_SEED, cuda_available
from .data.locate import default_cache_dir
from .errors import DataError, MinidlError
from .host_memory import keep_unless_declined

__all__ = ["USER_ERRORS", "run", "load_or_explain", "quiet_other_ranks", "positive_int", "nonnegative_int",
           "positive_float", "probability", "seed", "device", "int_at_most"]

# MinidlError covers DataError (a wrong checksum, an unsafe archive, an incomplete data set),
# CheckpointError, TrainingDiverged, RunFolderError and the checks of every argument; OSError
# the system's refusals (FileNotFoundError, a full disk, permissions)
USER_ERRORS = (MinidlError, OSError, MemoryError)

NETWORK_ERRORS = (urllib.error.URLError, TimeoutError, ConnectionError, http.client.HTTPException)


def _one_line(e: BaseException) -> str:
    text = str(e).strip()
    if isinstance(e, MemoryError):
        text = f"out of memory{': ' + text if text else ''} (use smaller sizes, --limit or --batch-size)"
    elif isinstance(e, OSError) and not isinstance(e, MinidlError) and e.strerror and e.filename:
        text = f"{e.filename}: {e.strerror}"
    return re.sub(r"\s*\n\s*", " ", text or type(e).__name__)


def run(main, argv=None) -> int:
    """Call ``main(argv)``; return 0, or 1 after printing a user error as one line.

    Under ``mpiexec`` with several ranks, a failing rank (a user error, or argparse's exit
    2 on a bad flag) ends the whole job after saying why. The process is the command line's,
    so it also keeps freed memory for the next step (:func:`minidl.host_memory.keep_freed_memory`:
    a training step's arrays without page faults), unless ``MINIDL_KEEP_FREED_MEMORY=0``."""
    from .distributed import abort_job  # the host layer may not import distributed at module level

    keep_unless_declined()
    try:
        main(argv)
    except SystemExit as e:
        if e.code not in (0, None):
            abort_job(e.code if isinstance(e.code, int) else 1)
        raise
    except USER_ERRORS as e:
        print("error: " + _one_line(e), file=sys.stderr)
        abort_job(1)
        return 1
    return 0


# ----------------------------------------------------------------------------- flag validators
def _number(text: str, kind):
    try:
        value = kind(text)
    except (TypeError, ValueError):
        raise argparse.ArgumentTypeError(f"expected {'an integer' if kind is int else 'a number'}, "
                                         f"got {text!r}") from None
    if kind is float and not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"expected a finite number, got {text!r}")
    return value


def int_at_most(low: int, high: int):
    """A ``type=`` for an integer in ``[low, high]`` (``high`` keeps a typo such as
    ``--hidden-size 1e9`` from asking for terabytes)."""

    def parse(text: str) -> int:
        value = _number(text, int)
        if not low <= value <= high:
            raise argparse.ArgumentTypeError(f"expected an integer in [{low}, {high:,}], got {text!r}")
        return value

    parse.__name__ = f"integer in [{low}, {high}]"
    parse.__doc__ = f"``type=`` for an integer in [{low}, {high:,}]: argparse refuses anything else."
    return parse


positive_int = int_at_most(1, 10**9)
"""``type=`` for counts and sizes (``--epochs``, ``--batch-size``): an integer in [1, 10⁹]."""
nonnegative_int = int_at_most(0, 10**9)
"""``type=`` for a count that may be zero: an integer in [0, 10⁹]."""
seed = int_at_most(0, MAX_SEED)
"""``type=`` for ``--seed``: an integer in the generators' range [0, 2⁶³ − 1]."""


def positive_float(text: str) -> float:
    """``type=`` for a learning rate or a clipping norm: a finite number > 0."""
    value = _number(text, float)
    if value <= 0:
        raise argparse.ArgumentTypeError(f"expected a finite number > 0, got {text!r}")
    return value


def probability(text: str) -> float:
    """``type=`` for a dropout rate: a number in [0, 1)."""
    value = _number(text, float)
    if not 0.0 <= value < 1.0:
        raise argparse.ArgumentTypeError(f"expected a number in [0, 1), got {text!r}")
    return value


def device(text: str) -> str:
    """``type=`` for ``--device``: ``cpu``, or ``cuda``/``cuda:N`` when a GPU answers (so a
    machine without one says so before any data is loaded)."""
    if text == "cpu":
        return text
    if re.fullmatch(r"cuda(:\d+)?", text or ""):
        if not cuda_available():
            raise argparse.ArgumentTypeError(
                f"{text!r} asked for, but no usable GPU here (CuPy is not installed or no GPU answers; install "
                "the extra matching your CUDA, pip install -e '.[cuda12]' or '.[cuda13]', or use --device cpu)")
        return text
    raise argparse.ArgumentTypeError(f"expected 'cpu' or 'cuda', got {text!r}")


def load_or_explain(load, *, download: bool, given_path, what: str, url: str, offline: str):
    """``load()``, with what to do when the data are missing and the network is not there.

    Args:
        load: a function of no arguments that calls the data set's loader.
        download: whether the loader was allowed to fetch the official archive.
        given_path: the ``--data`` path (None: the loader searched ``$MINIDL_DATA`` and the cache).
        what: the data set's name in a message ("the IMDB archive").
        url: the official address that could not be reached.
        offline: how to place a copy by hand ("copy aclImdb_v1.tar.gz into {cache} ...");
            ``{cache}`` is replaced by the cache folder.
    """
    try:
        return load()
    except FileNotFoundError as e:
        if download or given_path is not None:
            raise
        raise type(e)(f"{e} (--no-download was given: drop it to fetch the official archive)") from None
    except NETWORK_ERRORS as e:
        reason = getattr(e, "reason", None) or e
        raise DataError(f"could not download {what} from {url} ({reason}). Offline: fetch it on a machine with "
                        f"internet and {offline.format(cache=default_cache_dir())}; --no-download never tries "
                        "the network") from e


_DEVNULL = None


def _restore_stdout() -> None:
    global _DEVNULL
    if _DEVNULL is not None:
        sys.stdout = sys.__stdout__
        _DEVNULL.close()
        _DEVNULL = None


def quiet_other_ranks(dist):
    """The examples' convention under ``mpiexec -n p`` for the handle of
    :func:`minidl.distributed.init`: rank 0 alone prints (the other ranks' stdout goes to the
    null device, closed again at exit), and it says the world size once. Returns ``dist``."""
    global _DEVNULL
    if not dist.is_root and _DEVNULL is None:
        _DEVNULL = open(os.devnull, "w")
        sys.stdout = _DEVNULL
        atexit.register(_restore_stdout)
    print(f"world size {dist.world_size}")
    return dist
