"""Fetching a data set over HTTPS, resumably, and checking it against its published SHA-256.

:func:`download` writes to ``<dest>.part``, checks the published SHA-256 and only then
renames the file to ``dest`` (:func:`minidl.fileio.publish`, atomic), so ``dest`` either
does not exist or is complete and verified:

* an interrupted download leaves the ``.part`` file; the next call resumes it with an HTTP
  ``Range`` request, or starts over when the server does not support ranges (200, not 206);
* a server answering 416 ("range not satisfiable") means the ``.part`` already holds the
  whole file, or more than it: it is checked and finished, or deleted and fetched again;
* a wrong checksum deletes the ``.part``, so a retry starts clean.

:func:`check_official_copy` applies the same published checksum to a local file that
carries the official archive's name. Unpacking is :mod:`minidl.data.archive`'s job.
"""

from __future__ import annotations

import hashlib
import os
import sys
import urllib.error
import urllib.request
from pathlib import Path

from ..errors import DataError
from ..fileio import publish

__all__ = ["ChecksumError", "sha256sum", "download", "check_official_copy"]


class ChecksumError(DataError):
    """A file's SHA-256 differs from the published value."""


def sha256sum(path: str | os.PathLike, chunk_size: int = 1 << 20) -> str:
    """Hex SHA-256 of a file, read in chunks (an 84 MB archive never sits in memory)."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(chunk_size), b""):
            h.update(chunk)
    return h.hexdigest()


def check_official_copy(path: str | os.PathLike, sha256: str, url: str, digest: str | None = None) -> None:
    """A local file named as the official archive must be it, byte for byte.

    Args:
        digest: the file's SHA-256 when the caller has computed it already.

    Raises:
        ChecksumError: naming the path, both digests and what to do.
    """
    got = digest or sha256sum(path)
    if got != sha256.lower():
        raise ChecksumError(
            f"{path} carries the name of the official archive ({url}) but its SHA-256 is {got}, the published "
            f"one is {sha256}: the file is damaged or incomplete. Delete it and download it again "
            "(download=True, --download in the examples); a copy of different content (e.g. a subset) must "
            "carry another file name"
        )


def _urlopen(request, timeout):
    # One indirection so tests can stand in for the network (they never touch it).
    return urllib.request.urlopen(request, timeout=timeout)


def _progress(total, initial, desc, enabled):
    try:
        from tqdm.auto import tqdm
    except ImportError:  # pragma: no cover - tqdm is a dependency
        enabled = False
    if not enabled:
        return None
    return tqdm(total=total, initial=initial, unit="B", unit_scale=True, unit_divisor=1024, desc=desc)


def _fetch(url: str, part: Path, have: int, timeout: float, chunk_size: int, progress: bool) -> None:
    """Append the bytes from ``have`` on to ``part`` (or write all of them when the server
    ignores the range)."""
    request = urllib.request.Request(url, headers={"User-Agent": "minidl"})
    if have:
        request.add_header("Range", f"bytes={have}-")
    with _urlopen(request, timeout) as response:
        status = getattr(response, "status", None) or response.getcode()
        if have and status != 206:  # the server ignored the range: start over
            have = 0
        length = response.headers.get("Content-Length")
        total = have + int(length) if length is not None else None
        bar = _progress(total, have, part.name, progress)
        try:
            with open(part, "ab" if have else "wb") as f:
                for chunk in iter(lambda: response.read(chunk_size), b""):
                    f.write(chunk)
                    if bar is not None:
                        bar.update(len(chunk))
        finally:
            if bar is not None:
                bar.close()


def _complete_size(error: urllib.error.HTTPError) -> int | None:
    """The file size from a 416's ``Content-Range: bytes */SIZE``, when the server sends it."""
    value = error.headers.get("Content-Range", "") if error.headers is not None else ""
    total = value.rpartition("/")[2].strip()
    return int(total) if total.isdigit() else None


# --8<-- [start:download]
def download(
    url: str,
    dest: str | os.PathLike,
    sha256: str | None = None,
    progress: bool | None = None,
    timeout: float = 60.0,
    chunk_size: int = 1 << 16,
) -> Path:
    """Download ``url`` to ``dest`` over HTTPS, verify it, and return ``dest``.

    * Already there and (when ``sha256`` is given) matching: nothing is downloaded.
    * Bytes arrive in ``<dest>.part``; an earlier interrupted ``.part`` is resumed with an
      HTTP ``Range: bytes=<size>-`` request (a server answering 200 instead of 206 means
      "no ranges": the file is then fetched from the start). A 416 answer (the ``.part`` is
      already as long as the file, or longer) finishes a ``.part`` that verifies and
      otherwise deletes it and fetches the file again.
    * When complete, the SHA-256 is compared with ``sha256``; on a mismatch the ``.part`` is
      deleted and :class:`ChecksumError` raised, so a retry starts clean.
    * Only then the ``.part`` is renamed to ``dest``: ``dest`` is never a half-written file.

    Args:
        url: must be ``https://`` (plain HTTP could be altered in transit).
        dest: file path to write.
        sha256: expected hex digest (strongly recommended).
        progress: show a tqdm bar; default: only when stderr is a terminal.
    """
    if not url.lower().startswith("https://"):
        raise ValueError(f"refusing to download over a non-HTTPS URL: {url!r}")
    dest = Path(dest)
    expected = sha256.lower() if sha256 else None
    if dest.exists() and (expected is None or sha256sum(dest) == expected):
        return dest
    dest.parent.mkdir(parents=True, exist_ok=True)
    part = dest.with_name(dest.name + ".part")
    if progress is None:
        progress = sys.stderr.isatty()

    have = part.stat().st_size if part.exists() else 0
    try:
        _fetch(url, part, have, timeout, chunk_size, progress)
    except urllib.error.HTTPError as e:
        if e.code != 416 or not have:
            raise
        # Nothing lies beyond the .part: finished, or longer than the file (another file).
        size = _complete_size(e)
        done = sha256sum(part) == expected if expected is not None else size == have
        if not done:
            part.unlink(missing_ok=True)
            _fetch(url, part, 0, timeout, chunk_size, progress)

    if expected is not None:
        got = sha256sum(part)
        if got != expected:
            part.unlink(missing_ok=True)
            raise ChecksumError(
                f"SHA-256 of the download from {url} is {got}, expected {expected}; the partial "
                f"file {part} was deleted, run again to retry"
            )
    return publish(part, dest)
# --8<-- [end:download]
