"""The Large Movie Review Dataset (IMDB, Maas et al. 2011) as padded token-id arrays.

``load_imdb()`` turns the 50,000 labelled reviews of the canonical ``aclImdb/`` layout::

    aclImdb/train/pos/<id>_<rating>.txt   12,500 positive training reviews (rating 7..10)
    aclImdb/train/neg/<id>_<rating>.txt   12,500 negative training reviews (rating 1..4)
    aclImdb/test/{pos,neg}/...            the same for the test set

into ``ids (N, max_len)``, ``lengths (N,)`` and ``labels (N,)`` (neg = 0, pos = 1) for each
split, plus the :class:`~minidl.data.text.Vocabulary` built from the training reviews.

Where the data come from, first match wins:

1. ``path=``: a folder holding ``aclImdb/`` (or being it), or a ``.tar.gz`` of that layout
   (e.g. ``aclImdb_v1.tar.gz``, or ``aclImdb_labeled.tar.gz`` without the unlabelled reviews);
2. ``$MINIDL_DATA``: the same kinds of thing;
3. the cache folder (``cache_dir=``, else ``$MINIDL_CACHE``, else ``~/.cache/minidl``);
4. with ``download=True``: the official ``aclImdb_v1.tar.gz`` fetched over HTTPS into the
   cache folder and checked against its published SHA-256.

Archives are read in place (the 50,000 small files are never written out), and every member
name is checked as in :mod:`minidl.data.download`: an archive with a ``../`` member, an
absolute path or an escaping link is refused.

Reading and tokenising the reviews takes some seconds; the result (the token ids of every
review at full length, the vocabulary, the labels) is cached as a ``.npz`` (never pickle)
whose file name carries a hash of what determines it: the data's fingerprint, the tokenizer
version and ``vocab_size``. ``max_len``, ``truncate`` and ``pad`` are applied after the cache
(one vectorised gather, well under a second), so trying another ``max_len`` is cheap.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import tarfile
import tempfile
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .download import check_member_name, check_tar_members, locate, sha256sum
from .download import download as _download
from .text import Vocabulary, pad_sequences, tokenize

__all__ = ["IMDB_URL", "IMDB_SHA256", "TextSplit", "ImdbData", "load_imdb", "find_imdb", "default_cache_dir"]

IMDB_URL = "https://ai.stanford.edu/~amaas/data/sentiment/aclImdb_v1.tar.gz"
#: published SHA-256 of ``aclImdb_v1.tar.gz`` (84,125,825 bytes)
IMDB_SHA256 = "c40f74a18d3b61f90feba1e17730e0d38e8b97c05fde7008942e91923d1658fe"
ARCHIVE_NAMES = ("aclImdb_v1.tar.gz", "aclImdb_labeled.tar.gz", "aclImdb.tar.gz")
CLASSES = ("neg", "pos")
# Bump when tokenize() or the cache layout changes: old cache files then simply miss.
_CACHE_VERSION = "imdb-v1-tokenize-v1"
_MEMBER = re.compile(r"(?:^|/)(train|test)/(pos|neg)/(\d+)_(\d+)\.txt$")


def default_cache_dir() -> Path:
    """``$MINIDL_CACHE`` if set, else ``~/.cache/minidl``."""
    env = os.environ.get("MINIDL_CACHE")
    return Path(env).expanduser() if env else Path.home() / ".cache" / "minidl"


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

    Raises ``FileNotFoundError`` saying where to put the archive when nothing is found and
    ``download`` is False.
    """
    cache_dir = Path(cache_dir).expanduser() if cache_dir is not None else default_cache_dir()
    return locate(
        path, cache_dir, _resolve,
        not_a_dataset=(f"an aclImdb/ folder (with train/ and test/, each holding pos/ and neg/), a folder "
                       f"containing one, a folder holding one of {', '.join(ARCHIVE_NAMES)}, nor a .tar.gz archive"),
        fetch=(lambda: _download(IMDB_URL, cache_dir / ARCHIVE_NAMES[0], sha256=IMDB_SHA256)) if download else None,
        env_note=f" (no aclImdb/ folder or {' / '.join(ARCHIVE_NAMES)})",
        cache_note=" (no aclImdb/ folder or archive)",
        not_found=lambda looked: _not_found_message(looked, cache_dir),
    )


def _fingerprint(kind: str, p: Path) -> dict:
    """What identifies the data read: an archive by its SHA-256 (the same bytes hit the same
    cache wherever they lie), a folder by its path and its split folders' entry counts/mtimes."""
    if kind == "tar":
        return {"kind": "tar", "sha256": sha256sum(p)}
    dirs = {}
    for split in ("train", "test"):
        for label in CLASSES:
            d = p / split / label
            dirs[f"{split}/{label}"] = [sum(1 for _ in os.scandir(d)), d.stat().st_mtime_ns]
    return {"kind": "dir", "path": str(p.resolve()), "dirs": dirs}


# ------------------------------------------------------------------------ reading reviews
def _iter_reviews(kind: str, p: Path):
    """Yield (split, label, id, rating, text) for every labelled review."""
    if kind == "dir":
        for split in ("train", "test"):
            for label in CLASSES:
                with os.scandir(p / split / label) as entries:
                    for e in entries:
                        m = _MEMBER.search(f"{split}/{label}/{e.name}")
                        if m and e.is_file():
                            with open(e.path, encoding="utf-8", errors="replace") as f:
                                yield split, label, int(m.group(3)), int(m.group(4)), f.read()
        return
    with tarfile.open(p, "r:*") as tar:
        for member in tar:  # streamed: one pass through the gzip
            name = check_member_name(member.name)
            check_tar_members([member])  # links and devices, too: refuse the archive
            m = _MEMBER.search(name)
            if m is None or not member.isfile():
                continue
            text = tar.extractfile(member).read().decode("utf-8", errors="replace")
            yield m.group(1), m.group(2), int(m.group(3)), int(m.group(4)), text


def _read_and_encode(kind: str, p: Path, vocab_size: int) -> dict:
    """Read, tokenise, build the vocabulary on train, encode both splits at full length."""
    rows = {"train": [], "test": []}
    for split, label, rid, rating, text in _iter_reviews(kind, p):
        rows[split].append((CLASSES.index(label), rid, rating, tokenize(text)))
    for split in rows:
        if not rows[split]:
            raise ValueError(
                f"no {split} reviews found in {p} (expected {split}/pos/*.txt and {split}/neg/*.txt)"
            )
        # A fixed order (neg then pos, by review id), whatever the order on disk or in the archive.
        rows[split].sort(key=lambda r: (r[0], r[1]))
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


def _save_npz_atomic(path: Path, arrays: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            np.savez(f, **arrays)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


# --------------------------------------------------------------------------------- loader
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
        max_len: tokens kept per review, T; ``None`` keeps every review whole (T = longest).
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
        raise ValueError(f"vocab_size counts pad and unk, so it must be >= 2, got {vocab_size}")
    if max_len is not None and int(max_len) < 1:
        raise ValueError(f"max_len must be a positive int or None, got {max_len}")
    if truncate not in ("pre", "post") or pad not in ("pre", "post"):
        raise ValueError(f"truncate and pad must be 'pre' or 'post', got truncate={truncate!r}, pad={pad!r}")
    cache_dir = Path(cache_dir).expanduser() if cache_dir is not None else default_cache_dir()
    kind, source = find_imdb(path, cache_dir, download)

    key = {"version": _CACHE_VERSION, "data": _fingerprint(kind, source), "vocab_size": int(vocab_size)}
    digest = hashlib.sha256(json.dumps(key, sort_keys=True).encode()).hexdigest()[:16]
    cache_file = cache_dir / f"imdb-{digest}.npz"
    arrays, from_cache = None, False
    if use_cache and cache_file.is_file():
        try:
            with np.load(cache_file, allow_pickle=False) as z:
                arrays = {k: z[k] for k in z.files}
            from_cache = True
        except Exception as e:  # a damaged cache is rebuilt, not fatal
            warnings.warn(f"ignoring unreadable cache {cache_file}: {e}", stacklevel=2)
    if arrays is None:
        arrays = _read_and_encode(kind, source, int(vocab_size))
        if use_cache:
            try:
                _save_npz_atomic(cache_file, arrays)
            except OSError as e:
                warnings.warn(f"could not write the cache {cache_file}: {e}", stacklevel=2)

    vocab = Vocabulary.from_arrays(arrays["vocab_words"], arrays["vocab_counts"])
    rng = np.random.default_rng(seed)
    splits = {}
    for split in ("train", "test"):
        flat, offsets = arrays[f"{split}_flat"], arrays[f"{split}_offsets"]
        full = np.diff(offsets)
        T = int(max_len) if max_len is not None else max(int(full.max(initial=0)), 1)
        ids, lengths = pad_sequences((flat, offsets), T, truncate=truncate, pad=pad, dtype=dtype)
        s = TextSplit(ids, lengths, arrays[f"{split}_labels"], full, arrays[f"{split}_ratings"])
        if limit is not None and int(limit) < len(s):
            s = s.subset(np.sort(rng.permutation(len(s))[: int(limit)]))
        splits[split] = s

    settings = {"vocab_size": int(vocab_size), "max_len": splits["train"].ids.shape[1], "truncate": truncate,
                "pad": pad, "limit": limit, "seed": seed}
    info = {"source": str(source), "kind": kind, "cache_file": str(cache_file) if use_cache else None,
            "from_cache": from_cache, "seconds": time.perf_counter() - t0}
    return ImdbData(splits["train"], splits["test"], vocab, settings, info)
