"""The Large Movie Review Dataset (IMDB, Maas et al. 2011) as padded token-id arrays.

``load_imdb()`` turns the 50,000 labelled reviews of the canonical ``aclImdb/`` layout::

    aclImdb/train/pos/<id>_<rating>.txt   12,500 positive training reviews (rating 7..10)
    aclImdb/train/neg/<id>_<rating>.txt   12,500 negative training reviews (rating 1..4)
    aclImdb/test/{pos,neg}/...            the same for the test set

into ``ids (N, T)``, ``lengths (N,)`` and ``labels (N,)`` (neg = 0, pos = 1) for each
split, plus the :class:`~minidl.data.text.Vocabulary` built from the training reviews.

Where the data come from, first match wins:

1. ``path=``: a folder holding ``aclImdb/`` (or being it), or a ``.tar.gz`` of that layout
   (e.g. ``aclImdb_v1.tar.gz``, or ``aclImdb_labeled.tar.gz`` without the unlabelled reviews);
2. ``$MINIDL_DATA``: the same kinds of thing;
3. the cache folder (``cache_dir=``, else :func:`~minidl.data.locate.default_cache_dir`);
4. with ``download=True``: the official ``aclImdb_v1.tar.gz`` fetched over HTTPS into the
   cache folder and checked against its published SHA-256.

What is read is checked before it is used (every failure is a
:class:`~minidl.errors.DataError` naming the file and what to do):

* a file named ``aclImdb_v1.tar.gz`` must have the official archive's published SHA-256;
  other archives (``aclImdb_labeled.tar.gz``, without the unlabelled reviews) are accepted
  after the checks below;
* archives are read in place (the 50,000 small files are never written out) and to their
  very end (:func:`~minidl.data.archive.iter_tar`): a damaged header or a truncated file
  is an error, not an early end; member names and links are checked (``../``, absolute
  paths, escaping links are refused);
* completeness: each of ``train/pos``, ``train/neg``, ``test/pos``, ``test/neg`` holds at
  least one review and no id twice; a copy of the release (it has ``imdb.vocab`` beside
  ``train/``) must hold exactly its 12,500 reviews per folder, ids 0..12,499, i.e. 25,000
  + 25,000. ``limit`` subsets only after this check.

Reading and tokenising the reviews takes some seconds; the result (the token ids of every
review at full length, the vocabulary, the labels) is cached as a ``.npz`` (never pickle)
whose file name carries a hash of what determines it: the data's fingerprint, the tokenizer
version and ``vocab_size``. ``limit``, then ``max_len``, ``truncate`` and ``pad`` are applied after
the cache (one vectorised gather, well under a second), so trying another ``max_len`` is cheap.
Only the kept reviews are padded, to the longest of them (at most ``max_len``), and a request
that cannot fit in the memory available is refused before anything is allocated, naming
the size it needs. A review file that is empty is refused, named. A
cache file that cannot be read, lacks an array or whose arrays do not fit together is
stale: it is rebuilt, with a one-line warning naming it.
"""

from __future__ import annotations

import hashlib
import json
import os
import posixpath
import re
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..errors import DataError, RangeError
from ..fileio import atomic_write
from .archive import iter_tar
from .download import check_official_copy, sha256sum
from .download import download as _download
from .locate import cache_dir_or_default, default_cache_dir, locate
from .text import Vocabulary, pad_sequences, tokenize

__all__ = ["IMDB_URL", "IMDB_SHA256", "TextSplit", "ImdbData", "load_imdb", "find_imdb", "default_cache_dir"]

IMDB_URL = "https://ai.stanford.edu/~amaas/data/sentiment/aclImdb_v1.tar.gz"
#: published SHA-256 of ``aclImdb_v1.tar.gz`` (84,125,825 bytes)
IMDB_SHA256 = "c40f74a18d3b61f90feba1e17730e0d38e8b97c05fde7008942e91923d1658fe"
ARCHIVE_NAMES = ("aclImdb_v1.tar.gz", "aclImdb_labeled.tar.gz", "aclImdb.tar.gz")
CLASSES = ("neg", "pos")
#: reviews in each of train/pos, train/neg, test/pos, test/neg of the release (ids 0..12,499)
RELEASE_PER_FOLDER = 12_500
#: the file that marks a copy of the release (every copy has it; a hand-made sample does not)
RELEASE_MARKER = "imdb.vocab"
# Bump when tokenize() or the cache layout changes: old cache files then simply miss.
_CACHE_VERSION = "imdb-v1-tokenize-v1"
_MEMBER = re.compile(r"(?:^|/)(train|test)/(pos|neg)/(\d+)_(\d+)\.txt$")


@dataclass
class TextSplit:
    """One split (train or test) of an encoded text-classification set.

    Attributes:
        ids: (N, T) int32, token ids padded with 0 (see ``ImdbData.settings`` for the side).
        lengths: (N,) int64, real tokens per row, ``min(full_lengths, T)``.
        labels: (N,) int64, class index (IMDB: 0 = negative, 1 = positive).
        full_lengths: (N,) int64, tokens in the whole review before truncation.
        ratings: (N,) int64, the star rating from the file name (IMDB: 1..4 or 7..10).
    """

    ids: np.ndarray
    lengths: np.ndarray
    labels: np.ndarray
    full_lengths: np.ndarray
    ratings: np.ndarray

    def __len__(self) -> int:
        return len(self.labels)

    def subset(self, index) -> TextSplit:
        """The rows ``index`` (an index array, a boolean mask or a slice)."""
        arrays = (self.ids, self.lengths, self.labels, self.full_lengths, self.ratings)
        return TextSplit(*(a[index] for a in arrays))


@dataclass
class ImdbData:
    """What :func:`load_imdb` returns: ``train``, ``test``, ``vocab`` and how it was made.

    ``info`` records ``source`` (what was read), ``cache_file``, ``from_cache`` and
    ``seconds`` (the load time), so a run can report them.
    """

    train: TextSplit
    test: TextSplit
    vocab: Vocabulary
    settings: dict
    info: dict = field(default_factory=dict)
    classes: tuple = CLASSES

    def __repr__(self) -> str:
        s = self.settings
        return (
            f"ImdbData(train={len(self.train)}, test={len(self.test)}, vocab={len(self.vocab)}, "
            f"max_len={s['max_len']}, truncate={s['truncate']!r}, pad={s['pad']!r})"
        )


# ----------------------------------------------------------------------- finding the data
def _is_root(folder: Path) -> bool:
    return all((folder / split / label).is_dir() for split in ("train", "test") for label in CLASSES)


def _resolve(p: Path):
    """A folder or archive -> ("dir", aclImdb root) or ("tar", archive), or None."""
    if p.is_file():
        return ("tar", p) if p.name.endswith((".tar.gz", ".tgz", ".tar")) else None
    if not p.is_dir():
        return None
    if _is_root(p):
        return ("dir", p)
    if _is_root(p / "aclImdb"):
        return ("dir", p / "aclImdb")
    for name in ARCHIVE_NAMES:
        if (p / name).is_file():
            return ("tar", p / name)
    return None


def _not_found_message(looked: list[str], cache_dir: Path) -> str:
    return (
        "IMDB (Large Movie Review Dataset) not found. Looked in:\n"
        + "".join(f"  - {w}\n" for w in looked)
        + "Do one of:\n"
        f"  * put aclImdb_v1.tar.gz ({IMDB_URL}) or its extracted aclImdb/ folder in {cache_dir}\n"
        "  * set MINIDL_DATA=/folder/holding/it (or pass path=..., --data ... in the examples)\n"
        "  * pass download=True (--download in the examples) to fetch it over HTTPS (84 MB)"
    )


def find_imdb(path=None, cache_dir=None, download: bool = False):
    """Locate the data: ``("dir", folder)`` or ``("tar", archive)``; see the module docstring.

    Raises :class:`~minidl.data.locate.DataNotFoundError` (a ``FileNotFoundError``) saying
    where to put the archive when nothing is found and ``download`` is False.
    """
    cache_dir = cache_dir_or_default(cache_dir)
    return locate(
        path, cache_dir, _resolve,
        not_a_dataset=(f"an aclImdb/ folder (with train/ and test/, each holding pos/ and neg/), a folder "
                       f"containing one, a folder holding one of {', '.join(ARCHIVE_NAMES)}, nor a .tar.gz archive"),
        fetch=(lambda: ("tar", _download(IMDB_URL, cache_dir / ARCHIVE_NAMES[0], sha256=IMDB_SHA256)))
        if download else None,
        env_note=f" (no aclImdb/ folder or {' / '.join(ARCHIVE_NAMES)})",
        cache_note=" (no aclImdb/ folder or archive)",
        not_found=lambda looked: _not_found_message(looked, cache_dir),
    )


def _fingerprint(kind: str, p: Path) -> dict:
    """What identifies the data read: an archive by its SHA-256 (the same bytes hit the same
    cache wherever they lie; a file named as the official archive must have the published
    one), a folder by its path and a hash of every review file's name, size and modification
    time (a review rewritten in place changes its size or its mtime: the cache misses)."""
    if kind == "tar":
        digest = sha256sum(p)
        if p.name == ARCHIVE_NAMES[0]:
            check_official_copy(p, IMDB_SHA256, IMDB_URL, digest)
        return {"kind": "tar", "sha256": digest}
    dirs = {}
    for split in ("train", "test"):
        for label in CLASSES:
            h = hashlib.sha256()
            with os.scandir(p / split / label) as entries:
                for e in sorted(entries, key=lambda e: e.name):
                    st = e.stat()
                    h.update(f"{e.name}\0{st.st_size}\0{st.st_mtime_ns}\n".encode())
            dirs[f"{split}/{label}"] = h.hexdigest()
    return {"kind": "dir", "path": str(p.resolve()), "files": dirs}


# ------------------------------------------------------------------------ reading reviews
def _not_empty(text: str, where: str) -> str:
    """A review's text; an empty one (a file truncated to nothing) is refused, named."""
    if not text.strip():
        raise DataError(f"the review {where} is empty: the copy is damaged (every review of the release has text). "
                        "Delete it and download it again (download=True, --download in the examples), or pass a "
                        "complete copy with path=... (--data)")
    return text


def _iter_folder(p: Path):
    for split in ("train", "test"):
        for label in CLASSES:
            with os.scandir(p / split / label) as entries:
                for e in entries:
                    m = _MEMBER.search(f"{split}/{label}/{e.name}")
                    if m and e.is_file():
                        with open(e.path, encoding="utf-8", errors="replace") as f:
                            yield m, _not_empty(f.read(), e.path)


def _read_reviews(kind: str, p: Path):
    """Every labelled review as ``rows[split] = [(label index, id, rating, text)]``, and
    whether the data are a copy of the release (its marker file is there).

    An archive is streamed in one pass and read to its end (:func:`~minidl.data.archive.iter_tar`:
    member names and links checked, a damaged or truncated archive refused)."""
    rows = {"train": [], "test": []}
    if kind == "dir":
        release = (p / RELEASE_MARKER).is_file()
        reviews = _iter_folder(p)
    else:
        seen = []

        def reviews():
            for name, _, data in iter_tar(p, want=lambda name, m: _MEMBER.search(name) is not None):
                if posixpath.basename(name) == RELEASE_MARKER:
                    seen.append(name)
                if data is not None:
                    yield _MEMBER.search(name), _not_empty(data.decode("utf-8", errors="replace"), f"{p}:{name}")

        reviews = reviews()
    for m, text in reviews:
        rows[m.group(1)].append((CLASSES.index(m.group(2)), int(m.group(3)), int(m.group(4)), text))
    return rows, (release if kind == "dir" else bool(seen))


def _check_complete(rows: dict, p: Path, release: bool) -> None:
    """Each of the four folders non-empty and without a repeated id; in a copy of the
    release, exactly ids 0..12,499 in each (12,500 + 12,500 reviews per split)."""
    redo = ("Delete it and download it again (download=True, --download in the examples), or pass a complete "
            "copy with path=... (--data)")
    if not rows["train"] and not rows["test"]:  # another data set's archive, not a damaged IMDB copy
        raise DataError(f"{p} holds no IMDB review at all (no train/pos, train/neg, test/pos or test/neg "
                        "<id>_<rating>.txt): it is not the IMDB data set (another data set's archive or folder?). "
                        "Pass the IMDB archive aclImdb_v1.tar.gz or its aclImdb/ folder with path=... (--data)")
    for split in ("train", "test"):
        for k, label in enumerate(CLASSES):
            ids = sorted(r[1] for r in rows[split] if r[0] == k)
            if not ids:
                raise DataError(f"{p}: no {split}/{label} reviews found (expected {split}/{label}/<id>_<rating>.txt "
                                f"files). {redo}")
            if len(set(ids)) != len(ids):
                raise DataError(f"{p}: {split}/{label} holds the same review id twice. {redo}")
            if release and ids != list(range(RELEASE_PER_FOLDER)):
                missing = sorted(set(range(RELEASE_PER_FOLDER)) - set(ids))[:3]
                raise DataError(
                    f"{p}: {split}/{label} holds {len(ids):,} reviews, the complete data set has "
                    f"{RELEASE_PER_FOLDER:,} (ids 0..{RELEASE_PER_FOLDER - 1:,}; missing e.g. {missing}): the copy is "
                    f"incomplete. {redo}")


def _read_and_encode(kind: str, p: Path, vocab_size: int) -> dict:
    """Read and check the reviews, tokenise, build the vocabulary on train, encode both
    splits at full length."""
    rows, release = _read_reviews(kind, p)
    _check_complete(rows, p, release)
    for split in rows:
        # A fixed order (neg then pos, by review id), whatever the order on disk or in the archive.
        rows[split] = sorted(((r[0], r[1], r[2], tokenize(r[3])) for r in rows[split]), key=lambda r: (r[0], r[1]))
    vocab = Vocabulary.build((r[3] for r in rows["train"]), vocab_size)
    out = vocab.to_arrays()
    get = vocab.stoi.get
    for split, rs in rows.items():
        lens = np.fromiter((len(r[3]) for r in rs), dtype=np.int64, count=len(rs))
        offsets = np.zeros(len(rs) + 1, dtype=np.int64)
        np.cumsum(lens, out=offsets[1:])
        flat = np.fromiter((get(t, 1) for r in rs for t in r[3]), dtype=np.int32, count=int(offsets[-1]))
        out[f"{split}_flat"] = flat
        out[f"{split}_offsets"] = offsets
        out[f"{split}_labels"] = np.array([r[0] for r in rs], dtype=np.int64)
        out[f"{split}_ratings"] = np.array([r[2] for r in rs], dtype=np.int64)
    return out


_CACHE_KEYS = ("vocab_words", "vocab_counts") + tuple(
    f"{split}_{what}" for split in ("train", "test") for what in ("flat", "offsets", "labels", "ratings"))


def _read_cache(path: Path) -> dict:
    """The cached arrays, checked: every key there and the sizes consistent, else ValueError."""
    # opened here, not by np.load, which keeps its handle open when a truncated zip cannot be read
    with open(path, "rb") as f, np.load(f, allow_pickle=False) as z:
        missing = [k for k in _CACHE_KEYS if k not in z.files]
        if missing:
            raise DataError(f"it lacks {', '.join(missing)}")
        arrays = {k: z[k] for k in _CACHE_KEYS}
    for split in ("train", "test"):
        n, offsets = len(arrays[f"{split}_labels"]), arrays[f"{split}_offsets"]
        if (len(offsets) != n + 1 or len(arrays[f"{split}_ratings"]) != n or n == 0
                or int(offsets[-1]) != len(arrays[f"{split}_flat"])):
            raise DataError(f"its {split} arrays do not fit together")
    return arrays


# --------------------------------------------------------------------------------- loader
def _padded_width(full_lengths, max_len) -> int:
    """T: ``max_len``, or the longest kept review when all are shorter (memory follows the
    data: ``max_len=100000`` on reviews of at most 2,500 tokens pads to 2,500)."""
    longest = max(int(full_lengths.max(initial=0)), 1)
    return longest if max_len is None else min(int(max_len), longest)


def _available_memory() -> int | None:
    """Bytes of memory available now (Linux, macOS), or None where it cannot be asked."""
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (AttributeError, ValueError, OSError):
        return None


def _check_fits(need: int, max_len, limit) -> None:
    """Refuse, before allocating, padded arrays larger than the memory available."""
    free = _available_memory()
    if free is not None and need > free:
        raise RangeError(f"load_imdb: the padded token ids need {need / 2**30:.1f} GiB (max_len={max_len}, "
                         f"limit={limit}) but {free / 2**30:.1f} GiB of memory are available: lower max_len, or "
                         "pass limit (--max-len, --limit)")


def load_imdb(
    path=None,
    vocab_size: int = 20001,
    max_len: int | None = 300,
    truncate: str = "pre",
    pad: str = "post",
    cache_dir=None,
    download: bool = False,
    use_cache: bool = True,
    limit: int | None = None,
    seed: int = 0,
    dtype=np.int32,
) -> ImdbData:
    """Load IMDB as padded id arrays; see the module docstring for where it looks.

    Args:
        path: a folder or ``.tar.gz`` (see above); ``None`` searches ``$MINIDL_DATA`` and the cache.
        vocab_size: total number of token ids **including** ``<pad>`` (0) and ``<unk>`` (1),
            i.e. the ``num_embeddings`` of the model's ``nn.Embedding``. The default 20001 is
            report B's ``Embedding(20001, 64)``: the 19,999 most frequent training tokens +
            pad + unk (ties in frequency broken alphabetically).
        max_len: tokens kept per review; ``None`` keeps every review whole. The arrays are
            padded to T = the longest kept review, at most ``max_len``.
        truncate: ``"pre"`` drops the start of a longer review (keeps its last ``max_len``
            tokens, where reviews tend to give their verdict); ``"post"`` keeps the first
            ``max_len``. Same convention as Keras ``pad_sequences(truncating=...)``.
        pad: ``"post"`` puts the padding after the tokens (real tokens at ``[0, length)``,
            what ``lengths``-aware layers expect), ``"pre"`` before them.
        cache_dir: where the ``.npz`` cache (and a download) go; default
            ``$MINIDL_CACHE`` or ``~/.cache/minidl``.
        download: fetch the official archive when no local copy is found.
        use_cache: read/write the ``.npz`` cache (``False`` always re-reads the reviews).
        limit: keep a random ``limit`` reviews of each split (seeded by ``seed``), for quick
            runs; the vocabulary is still the full training set's.
        dtype: integer dtype of ``ids``.

    Returns:
        :class:`ImdbData` with ``train`` / ``test`` :class:`TextSplit` s (``ids: (N, T)``,
        ``lengths: (N,)``, ``labels: (N,)`` with 0 = neg, 1 = pos), ``vocab``, ``settings``,
        ``info``.
    """
    t0 = time.perf_counter()
    if int(vocab_size) < 2:
        raise RangeError(f"load_imdb: vocab_size counts pad and unk, so it must be >= 2, got {vocab_size}")
    if max_len is not None and int(max_len) < 1:
        raise RangeError(f"load_imdb: max_len must be a positive int or None, got {max_len}")
    if truncate not in ("pre", "post") or pad not in ("pre", "post"):
        raise RangeError(f"load_imdb: truncate and pad must be 'pre' or 'post', got truncate={truncate!r}, "
                         f"pad={pad!r}")
    if limit is not None and int(limit) < 1:
        raise RangeError(f"load_imdb: limit must be a positive int or None, got {limit}")
    cache_dir = cache_dir_or_default(cache_dir)
    kind, source = find_imdb(path, cache_dir, download)

    key = {"version": _CACHE_VERSION, "data": _fingerprint(kind, source), "vocab_size": int(vocab_size)}
    digest = hashlib.sha256(json.dumps(key, sort_keys=True).encode()).hexdigest()[:16]
    cache_file = cache_dir / f"imdb-{digest}.npz"
    arrays, from_cache = None, False
    if use_cache and cache_file.is_file():
        try:
            arrays, from_cache = _read_cache(cache_file), True
        except Exception as e:  # a damaged or stale cache is rebuilt, not fatal
            warnings.warn(f"ignoring unreadable cache {cache_file} ({e}); rebuilding it", stacklevel=2)
    if arrays is None:
        arrays = _read_and_encode(kind, source, int(vocab_size))
        if use_cache:
            try:
                with atomic_write(cache_file, "wb") as f:
                    np.savez(f, **arrays)
            except OSError as e:
                warnings.warn(f"could not write the cache {cache_file}: {e}", stacklevel=2)

    vocab = Vocabulary.from_arrays(arrays["vocab_words"], arrays["vocab_counts"])
    rng = np.random.default_rng(seed)
    rows = {}
    for split in ("train", "test"):  # --limit first: only the kept reviews are padded
        n = len(arrays[f"{split}_labels"])
        rows[split] = (np.sort(rng.permutation(n)[: int(limit)]) if limit is not None and int(limit) < n
                       else np.arange(n))
    widths = {split: _padded_width(np.diff(arrays[f"{split}_offsets"])[rows[split]], max_len) for split in rows}
    _check_fits(sum(len(rows[s]) * widths[s] for s in rows) * np.dtype(dtype).itemsize, max_len, limit)
    splits = {}
    for split in ("train", "test"):
        index, offsets = rows[split], arrays[f"{split}_offsets"]
        flat = arrays[f"{split}_flat"]
        starts, full = offsets[:-1][index], np.diff(offsets)[index]
        kept = np.concatenate([flat[a:a + n] for a, n in zip(starts, full)]) if len(index) else flat[:0]
        ids, lengths = pad_sequences((kept, np.concatenate([[0], np.cumsum(full)])), widths[split],
                                     truncate=truncate, pad=pad, dtype=dtype)
        splits[split] = TextSplit(ids, lengths, arrays[f"{split}_labels"][index], full,
                                  arrays[f"{split}_ratings"][index])

    settings = {"vocab_size": int(vocab_size), "max_len": splits["train"].ids.shape[1], "truncate": truncate,
                "pad": pad, "limit": limit, "seed": seed}
    info = {"source": str(source), "kind": kind, "cache_file": str(cache_file) if use_cache else None,
            "from_cache": from_cache, "seconds": time.perf_counter() - t0}
    return ImdbData(splits["train"], splits["test"], vocab, settings, info)
