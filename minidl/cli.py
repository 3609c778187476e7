"""What the example scripts share on the command line: data that cannot be fetched, and the
errors a user meets, each said in one line.

An example's ``__main__`` block is ``sys.exit(run(main, sys.argv[1:]))``: exit code 0, or 1
after one ``error:`` line on stderr for the errors whose message already says what happened
and what to do (no data set, a damaged archive or checkpoint, a diverged run). Any other
exception is a bug and keeps its traceback.
"""

from __future__ import annotations

import http.client
import os
import re
import sys
import urllib.error

from .data.locate import default_cache_dir
from .errors import CheckpointError, DataError, TrainingDiverged

__all__ = ["USER_ERRORS", "run", "load_or_explain", "quiet_other_ranks"]

# DataError covers a wrong checksum, an unsafe archive and an incomplete data set
USER_ERRORS = (TrainingDiverged, DataError, CheckpointError, FileNotFoundError)

NETWORK_ERRORS = (urllib.error.URLError, TimeoutError, ConnectionError, http.client.HTTPException)


def run(main, argv=None) -> int:
    """Call ``main(argv)``; return 0, or 1 after printing a user error as one line."""
    try:
        main(argv)
    except USER_ERRORS as e:
        print("error: " + re.sub(r"\s*\n\s*", " ", str(e).strip()), file=sys.stderr)
        return 1
    return 0


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


def quiet_other_ranks(dist):
    """The examples' convention under ``mpiexec -n p`` for the handle of
    :func:`minidl.distributed.init`: rank 0 alone prints (the other ranks' stdout goes to the
    null device), and it says the world size once. Returns ``dist``."""
    if not dist.is_root:
        sys.stdout = open(os.devnull, "w")
    print(f"world size {dist.world_size}")
    return dist
