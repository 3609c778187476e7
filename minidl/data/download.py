"""Fetching and unpacking data sets safely: HTTPS download with a checksum, safe tar extraction.

Two things can go wrong with a downloaded archive, and both are handled here:

* **A broken or tampered file.** :func:`download` writes to ``<dest>.part``, checks the
  published SHA-256 and only then renames the file to ``dest`` (``os.replace`` is atomic),
  so ``dest`` either does not exist or is complete and verified. An interrupted download
  leaves the ``.part`` file; the next call resumes it with an HTTP ``Range`` request, or
  starts over when the server does not support ranges.
* **An archive that writes outside its folder** ("tar slip"): a member named
  ``../../.bashrc`` or ``/etc/passwd``, or a link pointing out of the target folder.
  :func:`check_tar_members` refuses the whole archive before anything is written, and
  :func:`safe_extract` extracts only after that check.
"""

from __future__ import annotations

import hashlib
import os
import posixpath
import sys
import tarfile
import tempfile
import urllib.request
from pathlib import Path
from typing import Iterable

__all__ = [
    "UnsafeArchiveError",
    "ChecksumError",
    "sha256sum",
    "download",
    "check_member_name",
    "check_tar_members",
    "safe_extract",
    "atomic_write_bytes",
    "locate",
]


class UnsafeArchiveError(ValueError):
    """An archive member would land outside the extraction folder (or is a device/fifo)."""


class ChecksumError(ValueError):
    """A downloaded file's SHA-256 differs from the published value."""


def sha256sum(path: str | os.PathLike, chunk_size: int = 1 << 20) -> str:
    """Hex SHA-256 of a file, read in chunks (an 84 MB archive never sits in memory)."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(chunk_size), b""):
            h.update(chunk)
    return h.hexdigest()


def atomic_write_bytes(path: str | os.PathLike, data: bytes) -> Path:
    """Write ``data`` to a temporary file beside ``path``, then rename it onto ``path``."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


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
      "no ranges": the file is then fetched from the start).
    * When complete, the SHA-256 is compared with ``sha256``; on a mismatch the ``.part`` is
      deleted and :class:`ChecksumError` raised, so a retry starts clean.
    * Only then ``os.replace(part, dest)``: ``dest`` is never a half-written file.

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
    request = urllib.request.Request(url, headers={"User-Agent": "minidl"})
    if have:
        request.add_header("Range", f"bytes={have}-")
    with _urlopen(request, timeout) as response:
        status = getattr(response, "status", None) or response.getcode()
        if have and status != 206:  # the server ignored the range: start over
            have = 0
        length = response.headers.get("Content-Length")
        total = have + int(length) if length is not None else None
        bar = _progress(total, have, dest.name, progress)
        try:
            with open(part, "ab" if have else "wb") as f:
                for chunk in iter(lambda: response.read(chunk_size), b""):
                    f.write(chunk)
                    if bar is not None:
                        bar.update(len(chunk))
        finally:
            if bar is not None:
                bar.close()

    if expected is not None:
        got = sha256sum(part)
        if got != expected:
            part.unlink(missing_ok=True)
            raise ChecksumError(
                f"SHA-256 of the download from {url} is {got}, expected {expected}; the partial "
                f"file was deleted, run again to retry"
            )
    os.replace(part, dest)
    return dest
# --8<-- [end:download]


# --8<-- [start:safe_tar]
def check_member_name(name: str) -> str:
    """Normalise an archive member name, or raise :class:`UnsafeArchiveError`.

    Refused: absolute paths (``/etc/passwd``, ``C:\\x``), any ``..`` component
    (``aclImdb/../../x``), and empty names.
    """
    if not name or name.startswith(("/", "\\")) or (len(name) > 1 and name[1] == ":"):
        raise UnsafeArchiveError(f"archive member {name!r} has an absolute path")
    parts = name.replace("\\", "/").split("/")
    if ".." in parts:
        raise UnsafeArchiveError(f"archive member {name!r} climbs out of the target folder ('..')")
    return posixpath.normpath(name.replace("\\", "/"))


def check_tar_members(members: Iterable[tarfile.TarInfo]) -> list[tarfile.TarInfo]:
    """Check every member before anything is written; return them as a list.

    Besides :func:`check_member_name`, links are followed on paper: a symbolic link's target
    is resolved relative to the link's folder, a hard link's relative to the archive root,
    and must stay inside the target folder. Device files and fifos are refused outright.
    """
    members = list(members)
    for m in members:
        name = check_member_name(m.name)
        if m.isdev():
            raise UnsafeArchiveError(f"archive member {m.name!r} is a device file or fifo")
        if m.issym() or m.islnk():
            target = m.linkname.replace("\\", "/")
            if target.startswith("/") or (len(target) > 1 and target[1] == ":"):
                raise UnsafeArchiveError(f"link {m.name!r} points to the absolute path {m.linkname!r}")
            base = posixpath.dirname(name) if m.issym() else ""
            resolved = posixpath.normpath(posixpath.join(base, target))
            if resolved == ".." or resolved.startswith("../"):
                raise UnsafeArchiveError(
                    f"link {m.name!r} -> {m.linkname!r} points outside the target folder"
                )
    return members


def safe_extract(archive: str | os.PathLike, dest: str | os.PathLike) -> Path:
    """Extract a ``.tar`` / ``.tar.gz`` into ``dest`` after checking every member.

    The whole archive is refused (nothing written) if one member is unsafe. Python's own
    ``"data"`` extraction filter is applied as well, as a second line of defence (it also
    drops set-uid bits and never follows links out of ``dest``).
    """
    dest = Path(dest)
    dest.mkdir(parents=True, exist_ok=True)
    with tarfile.open(archive, "r:*") as tar:
        members = check_tar_members(tar.getmembers())
        if hasattr(tarfile, "data_filter"):
            tar.extractall(dest, members=members, filter="data")
        else:  # pragma: no cover - Python < 3.11.4
            tar.extractall(dest, members=members)
    return dest
# --8<-- [end:safe_tar]


def locate(path, cache_dir: Path, resolve, *, not_a_dataset: str, fetch=None, env_note: str = "",
           cache_note: str = "", not_found=None):
    """Find a data set the way every loader does: ``path=``, then ``$MINIDL_DATA``, then the
    cache folder, then (when ``fetch`` is given, i.e. download was asked for) ``fetch()``.

    Args:
        resolve: ``Path -> ("dir", folder) | ("tar", archive) | None`` for one place.
        not_a_dataset: completes "path=... is neither ..." when ``path`` holds no data set.
        fetch: ``() -> archive Path``, or None when downloading is not allowed.
        env_note, cache_note: what was missing there, for the "looked in" list.
        not_found: ``looked (list of str) -> message`` of the final ``FileNotFoundError``.
    """
    if path is not None:
        found = resolve(Path(path).expanduser())
        if found is None:
            raise FileNotFoundError(f"path={str(path)!r} is neither {not_a_dataset}")
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
        return ("tar", fetch())
    raise FileNotFoundError(not_found(looked))
