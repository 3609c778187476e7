"""Surnames and their language of origin (report C: the classic character-level RNN tutorial).

The data are 18 text files, one per language (``Arabic.txt`` ... ``Vietnamese.txt``), one
surname per line, 20,074 lines in all, from the tutorial's ``data.zip`` (``data/names/``).
A name becomes a sequence of letters, each letter one of 57 symbols::

    ALL_LETTERS = "abc...xyzABC...XYZ .,;'"          (52 letters + 5 punctuation = 57)
    "Müller" -> "Muller"                             unicode_to_ascii: accents dropped
    "Muller" -> ids [38, 20, 11, 11, 4, 17]          positions in ALL_LETTERS
             -> one-hot rows, (T=6, 57)              the RNN's input x_t at step t

Where the files come from, first match wins: ``path=`` (the folder of ``*.txt`` files or a
folder holding ``names/``), ``$MINIDL_DATA`` (same), the cache folder's ``names/``
(``$MINIDL_CACHE`` or ``~/.cache/minidl``), and with ``download=True`` the tutorial's
``data.zip``, fetched over HTTPS and unpacked safely into the cache (no checksum is
published for it, so none is checked).
"""

from __future__ import annotations

import os
import string
import unicodedata
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .download import UnsafeArchiveError, check_member_name
from .download import download as _download
from .imdb import default_cache_dir

__all__ = [
    "ALL_LETTERS", "N_LETTERS", "NAMES_URL", "unicode_to_ascii", "letter_to_index", "name_to_indices",
    "encode_names", "one_hot", "name_to_onehot", "NamesSplit", "NamesData", "load_names",
]

ALL_LETTERS = string.ascii_letters + " .,;'"
N_LETTERS = len(ALL_LETTERS)  # 57
NAMES_URL = "https://download.pytorch.org/tutorial/data.zip"
_INDEX = {c: i for i, c in enumerate(ALL_LETTERS)}


# --8<-- [start:unicode_to_ascii]
def unicode_to_ascii(s: str) -> str:
    """Drop accents and every symbol outside ``ALL_LETTERS``: "Ślusàrski" -> "Slusarski".

    NFD normalisation splits an accented letter into its base letter and a combining mark
    (category ``Mn``), e.g. "à" -> "a" + U+0300; the marks are dropped, and so is any
    character that is still not one of the 57 symbols.
    """
    return "".join(c for c in unicodedata.normalize("NFD", s) if unicodedata.category(c) != "Mn" and c in _INDEX)
# --8<-- [end:unicode_to_ascii]


def letter_to_index(letter: str) -> int:
    """Position of ``letter`` in ``ALL_LETTERS`` (0..56); ValueError for anything else."""
    try:
        return _INDEX[letter]
    except KeyError:
        raise ValueError(f"{letter!r} is not one of the {N_LETTERS} symbols {ALL_LETTERS!r}") from None


def name_to_indices(name: str) -> np.ndarray:
    """A name (already ASCII, see :func:`unicode_to_ascii`) -> (T,) int64 letter ids."""
    return np.array([letter_to_index(c) for c in name], dtype=np.int64)


def encode_names(names, max_len: int | None = None, pad: str = "post") -> tuple[np.ndarray, np.ndarray]:
    """N names -> ``ids (N, T)`` int64 and ``lengths (N,)``; padding id 0 is never read
    where ``lengths`` say the name has ended (T = longest name, or ``max_len`` cutting longer
    names at their end)."""
    if pad not in ("pre", "post"):
        raise ValueError(f"pad must be 'pre' or 'post', got {pad!r}")
    seqs = [name_to_indices(n) for n in names]
    full = np.array([len(s) for s in seqs], dtype=np.int64)
    T = int(max_len) if max_len is not None else max(int(full.max(initial=0)), 1)
    lengths = np.minimum(full, T)
    ids = np.zeros((len(seqs), T), dtype=np.int64)
    for i, s in enumerate(seqs):
        s = s[:T]
        if pad == "post":
            ids[i, : len(s)] = s
        else:
            ids[i, T - len(s):] = s
    return ids, lengths


# --8<-- [start:one_hot]
def one_hot(ids: np.ndarray, num_classes: int = N_LETTERS, lengths: np.ndarray | None = None,
            pad: str = "post", dtype=np.float32) -> np.ndarray:
    """Integer ids of any shape S -> one-hot ``S + (num_classes,)``.

    With ``lengths`` (for ids (N, T)), the padded positions become all-zero rows, so a
    padded step feeds the RNN nothing rather than the letter "a" (id 0).
    """
    ids = np.asarray(ids)
    if ids.dtype.kind not in "iu":
        raise TypeError(f"one_hot expects integer ids, got dtype {ids.dtype}")
    if ids.size and (ids.min() < 0 or ids.max() >= num_classes):
        raise ValueError(f"ids must lie in [0, {num_classes}), got range [{ids.min()}, {ids.max()}]")
    out = np.eye(num_classes, dtype=dtype)[ids]  # row i of the identity is the one-hot of i
    if lengths is not None:
        T = ids.shape[1]
        t = np.arange(T)
        L = np.asarray(lengths)[:, None]
        real = t < L if pad == "post" else t >= T - L
        out *= real[..., None]
    return out
# --8<-- [end:one_hot]


def name_to_onehot(name: str) -> np.ndarray:
    """The tutorial's ``lineToTensor``: a name -> (T, 1, 57) float32, batch of one, time-major."""
    return one_hot(name_to_indices(name))[:, None, :]


@dataclass
class NamesSplit:
    """One split: ``names`` (list of N ASCII str), ``labels`` (N,) int64 language index,
    ``ids`` (N, T) int64 letter ids padded after the name, ``lengths`` (N,)."""

    names: list
    labels: np.ndarray
    ids: np.ndarray
    lengths: np.ndarray

    def __len__(self) -> int:
        return len(self.names)


@dataclass
class NamesData:
    """What :func:`load_names` returns: ``train``, ``test``, ``languages`` (sorted names of
    the 18 classes; label ``k`` is ``languages[k]``) and ``source``."""

    train: NamesSplit
    test: NamesSplit
    languages: tuple
    source: str

    def __repr__(self) -> str:
        return (f"NamesData(train={len(self.train)}, test={len(self.test)}, "
                f"languages={len(self.languages)}, letters={N_LETTERS})")


def _names_dir(p: Path) -> Path | None:
    for d in (p, p / "names", p / "data" / "names"):
        if d.is_dir() and any(d.glob("*.txt")):
            return d
    return None


def _extract_names_zip(archive: Path, dest: Path) -> Path:
    """Unpack ``data/names/*.txt`` of the tutorial's zip into ``dest/names`` (names checked)."""
    out = dest / "names"
    tmp = dest / ".names.tmp"
    tmp.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(archive) as z:
        for info in z.infolist():
            name = check_member_name(info.filename)
            if info.is_dir() or not name.endswith(".txt") or "/names/" not in f"/{name}":
                continue
            base = os.path.basename(name)
            if not base or base.startswith("."):
                raise UnsafeArchiveError(f"unexpected member {info.filename!r} in {archive}")
            (tmp / base).write_bytes(z.read(info))
    os.replace(tmp, out)
    return out


def find_names(path=None, cache_dir=None, download: bool = False) -> Path:
    """The folder holding the 18 ``<Language>.txt`` files; see the module docstring."""
    cache_dir = Path(cache_dir).expanduser() if cache_dir is not None else default_cache_dir()
    if path is not None:
        d = _names_dir(Path(path).expanduser())
        if d is None:
            raise FileNotFoundError(f"path={str(path)!r} holds no <Language>.txt files (nor names/ with them)")
        return d
    env = os.environ.get("MINIDL_DATA")
    for base in ([Path(env).expanduser()] if env else []) + [cache_dir]:
        d = _names_dir(base)
        if d is not None:
            return d
    if download:
        archive = _download(NAMES_URL, cache_dir / "names_data.zip")
        return _extract_names_zip(archive, cache_dir)
    raise FileNotFoundError(
        "the names data set (18 files <Language>.txt) was not found in "
        f"{'$MINIDL_DATA=' + env if env else '$MINIDL_DATA (not set)'} nor in {cache_dir}/names.\n"
        f"Do one of:\n  * unzip data/names/ of {NAMES_URL} into {cache_dir}/names\n"
        "  * set MINIDL_DATA to a folder holding names/ (or pass path=...)\n"
        "  * pass download=True to fetch it over HTTPS"
    )


def load_names(path=None, test_fraction: float = 0.2, seed: int = 0, cache_dir=None,
               download: bool = False, unique: bool = False) -> NamesData:
    """Read the surnames, normalise them to ASCII, and split each language train/test.

    Languages are the file names, sorted (Arabic = 0, ..., Vietnamese = 17). Each language
    is split on its own (stratified), ``test_fraction`` of its names to the test set, with a
    seeded shuffle, so the small classes (Vietnamese: 73 names) appear in both splits.

    The files repeat some names within a language (Arabic: 2,000 lines, about 100 distinct
    names; 2,080 repeated rows over all files). The tutorial keeps them, and so does
    ``unique=False``; a repeated name can then sit in both splits, which flatters the test
    accuracy. ``unique=True`` keeps the first of each repeated (name, language) pair
    before splitting. A name listed under two languages is kept under both either way.

    Returns:
        :class:`NamesData`; ``train.ids`` / ``test.ids`` are (N, T) letter ids padded after
        the name (T = longest name of the split), ``one_hot(split.ids, lengths=split.lengths)``
        makes the (N, T, 57) input.
    """
    if not 0.0 <= test_fraction < 1.0:
        raise ValueError(f"test_fraction must lie in [0, 1), got {test_fraction}")
    folder = find_names(path, cache_dir, download)
    files = sorted(folder.glob("*.txt"))
    languages = tuple(f.stem for f in files)
    rng = np.random.default_rng(seed)
    parts = {"train": ([], []), "test": ([], [])}
    for label, f in enumerate(files):
        names = [unicode_to_ascii(line.strip()) for line in f.read_text(encoding="utf-8").splitlines()]
        names = [n for n in names if n]
        if unique:
            names = list(dict.fromkeys(names))  # first occurrence of each, file order kept
        order = rng.permutation(len(names))
        n_test = int(round(test_fraction * len(names)))
        for split, idx in (("test", order[:n_test]), ("train", order[n_test:])):
            parts[split][0].extend(names[i] for i in sorted(idx))
            parts[split][1].extend([label] * len(idx))
    splits = {}
    for split, (names, labels) in parts.items():
        ids, lengths = encode_names(names) if names else (np.zeros((0, 1), np.int64), np.zeros(0, np.int64))
        splits[split] = NamesSplit(names, np.array(labels, dtype=np.int64), ids, lengths)
    return NamesData(splits["train"], splits["test"], languages, str(folder))
