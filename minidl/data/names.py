"""Surnames and their language of origin (report C: the classic character-level RNN tutorial).

The data are 18 text files, one per language (``Arabic.txt`` ... ``Vietnamese.txt``), one
surname per line, 20,074 lines in all, from the tutorial's ``data.zip`` (``data/names/``).
A name becomes a sequence of letters, each letter one of 57 symbols::

    ALL_LETTERS = "abc...xyzABC...XYZ .,;'"          (52 letters + 5 punctuation = 57)
    "Müller" -> "Muller"                             unicode_to_ascii: accents dropped
    "Muller" -> ids [38, 20, 11, 11, 4, 17]          positions in ALL_LETTERS
             -> one-hot rows, (T=6, 57)              the RNN's input x_t at step t

Where the files come from, first match wins (:func:`~minidl.data.locate.locate`): ``path=``
(the folder of ``*.txt`` files or a folder holding ``names/`` or ``data/names/``),
``$MINIDL_DATA`` (same), the cache folder's ``names/``
(:func:`~minidl.data.locate.default_cache_dir`), and with ``download=True`` the tutorial's
``data.zip``, fetched over HTTPS, checked against the SHA-256 that PyTorch's tutorials
repository pins for it (``.jenkins/download_data.py`` of ``pytorch/tutorials``), and
unpacked into the cache.

What is read is checked (a :class:`~minidl.errors.DataError` naming the file otherwise):
a folder holding any of the 18 files of the release must hold exactly those 18, each with
its SHA-256 (``NAMES_FILES``, computed from the canonical files), 20,074 names in all,
checked after a download and whenever a folder is loaded; a folder of other
``<Label>.txt`` files (your own data) is accepted as it is; no file may be empty.
"""

from __future__ import annotations

import hashlib
import math
import posixpath
import string
import unicodedata
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import DataError, DTypeError, RangeError
from ..fileio import publish, temporary_folder
from .archive import UnsafeArchiveError, check_member_name
from .download import download as _download
from .locate import cache_dir_or_default, locate

__all__ = [
    "ALL_LETTERS", "N_LETTERS", "NAMES_URL", "unicode_to_ascii", "letter_to_index", "name_to_indices",
    "encode_names", "one_hot", "name_to_onehot", "NamesSplit", "NamesData", "load_names",
]

ALL_LETTERS = string.ascii_letters + " .,;'"
N_LETTERS = len(ALL_LETTERS)  # 57
NAMES_URL = "https://download.pytorch.org/tutorial/data.zip"
#: SHA-256 of ``data.zip`` as pinned by ``pytorch/tutorials`` (``.jenkins/download_data.py``)
NAMES_ZIP_SHA256 = "fb317e80248faeb62dc25ef3390ae24ca34b94e276bbc5141fd8862c2200bff5"
#: SHA-256 of each of the 18 files of ``data/names/`` (one surname a line, UTF-8)
NAMES_FILES = {
    "Arabic": "6f424a8dbe51cbbbabab7a57d38b617210125e4e3991f3c657cb79b8f104bafc",
    "Chinese": "49263ef55a8cb1740e841d65cad8214b2f9b5b869bc534c811746422496fa91e",
    "Czech": "145bbbd6d0816578f03388e92c264d39ef1c60df920b081d371fa5c5cc055a8e",
    "Dutch": "924f32b635170eae561f84538632138fc07d4c8bbd70ba3fb980de1ecc4d2af3",
    "English": "9cca037066d3d5989e24bc01801416162de506b5e28e15b7c092a47905d29bf2",
    "French": "81e65b36c60ed5b89a17422f6edcadbb89546f38ad69e960e64e7ba682012a95",
    "German": "7449cd590b97a733e18d613a4155decd77ec35dc5f8aadd7a82204dce4f051db",
    "Greek": "3555b5186de7f401e6d991b088e9e644ca3099116477818c25ab5793801389e6",
    "Irish": "cf8c7013256252a88d2503127b87282a11f21b2ff6db1bded68834c19a1ec058",
    "Italian": "f88414c27d0606a11a678b4859277828c2565d6cc4d9ee932deef6e94f3b35e4",
    "Japanese": "e0e717e114fec3e7eade4d9dabe0067c475f43147e36a22b47902ee76ad9e67f",
    "Korean": "cd54221ccb362a6cba4c78828838cf3268a0e59744767a37cf6ec4b74036b136",
    "Polish": "45bab898af2f60ed3a728bbf6980e28821011a7caa53227553b5785903a40826",
    "Portuguese": "50a8735f41f4f73757c8ce5b16cb0275cd86b2b214bcbc8c9805f508cb131c53",
    "Russian": "43b3e64ce351f77f1ac9e0cdf7566012d127f4371875fd25208845b5c9d6f7c3",
    "Scottish": "78d0252711d87d948ea86fe34826c51d2d794a8e52d15b5d6f7b6244d45d62dd",
    "Spanish": "1bcb462ed3316756a85781d68232bddae04498fdddd5d9219c53fd1fbdeba7a7",
    "Vietnamese": "f3f9e4164ab47601178a6e45b216464a64122f49d05541f24bf18a757253281d",
}
NAMES_TOTAL = 20_074  # lines in the 18 files
_REDO = ("Delete the folder and download it again (download=True), or pass a complete copy with path=...")
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
        raise RangeError(f"letter_to_index: letter must be one of the {N_LETTERS} symbols {ALL_LETTERS!r}, "
                         f"got {letter!r}") from None


def name_to_indices(name: str) -> np.ndarray:
    """A name (already ASCII, see :func:`unicode_to_ascii`) -> (T,) int64 letter ids."""
    return np.array([letter_to_index(c) for c in name], dtype=np.int64)


def encode_names(names, max_len: int | None = None, pad: str = "post") -> tuple[np.ndarray, np.ndarray]:
    """N names -> ``ids (N, T)`` int64 and ``lengths (N,)``; padding id 0 is never read
    where ``lengths`` say the name has ended (T = longest name, or ``max_len`` cutting longer
    names at their end)."""
    if pad not in ("pre", "post"):
        raise RangeError(f"encode_names: pad must be 'pre' or 'post', got {pad!r}")
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
        raise DTypeError(f"one_hot: ids must be integers, got dtype {ids.dtype}")
    if ids.size and (ids.min() < 0 or ids.max() >= num_classes):
        raise RangeError(f"one_hot: ids must lie in [0, {num_classes}), got range [{ids.min()}, {ids.max()}]")
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


def _language_files(folder: Path) -> list[Path]:
    """The ``<Language>.txt`` files of ``folder``, sorted; hidden files (``.X.txt``, an
    editor's or a file manager's) are not languages."""
    return sorted(f for f in folder.glob("*.txt") if not f.name.startswith(".") and f.is_file())


def _names_dir(p: Path):
    """A folder holding ``<Language>.txt`` files (``p``, ``p/names`` or ``p/data/names``), as
    ``("dir", folder)``, or None."""
    for d in (p, p / "names", p / "data" / "names"):
        if d.is_dir() and _language_files(d):
            return ("dir", d)
    return None


def check_names_files(contents: dict, where) -> None:
    """Check the raw files ``{language: bytes}`` read from ``where`` (a folder or an archive).

    Any of the 18 release files present: all 18 and nothing else, each with its SHA-256
    (:data:`NAMES_FILES`). Any set of files: none empty. Raises DataError naming the file.
    """
    if any(lang in NAMES_FILES for lang in contents):
        missing = sorted(set(NAMES_FILES) - set(contents))
        extra = sorted(set(contents) - set(NAMES_FILES))
        if missing or extra:
            raise DataError(f"{where}: the names data set has the 18 files {', '.join(NAMES_FILES)}; "
                            f"missing {missing}, unexpected {extra}. {_REDO}")
        for lang, data in contents.items():
            got = hashlib.sha256(data).hexdigest()
            if got != NAMES_FILES[lang]:
                raise DataError(f"{where}/{lang}.txt differs from the release file (SHA-256 {got}, expected "
                                f"{NAMES_FILES[lang]}): it is damaged or edited. {_REDO}")
    for lang, data in contents.items():
        if not data.strip():
            raise DataError(f"{where}/{lang}.txt holds no names (it is empty). {_REDO}")


def _extract_names_zip(archive: Path, dest: Path) -> Path:
    """Unpack ``data/names/*.txt`` of the tutorial's zip into ``dest/names``: read and check
    every file in memory first, then write them to a temporary folder renamed into place."""
    contents = {}
    try:
        with zipfile.ZipFile(archive) as z:
            for info in z.infolist():
                name = check_member_name(info.filename)
                if info.is_dir() or not name.endswith(".txt") or "/names/" not in f"/{name}":
                    continue
                base = posixpath.basename(name)
                if not base or base.startswith("."):
                    raise UnsafeArchiveError(f"unexpected member {info.filename!r} in {archive}")
                contents[base[:-4]] = z.read(info)
    except (zipfile.BadZipFile, EOFError, OSError) as e:
        raise DataError(f"{archive} is damaged or truncated ({type(e).__name__}: {e}). Delete it and download it "
                        "again (download=True)") from None
    check_names_files(contents, f"{archive}:data/names")
    tmp = temporary_folder(dest / "names")
    for lang, data in contents.items():
        (tmp / f"{lang}.txt").write_bytes(data)
    return publish(tmp, dest / "names")


def find_names(path=None, cache_dir=None, download: bool = False) -> Path:
    """The folder holding the ``<Language>.txt`` files; see the module docstring."""
    cache_dir = cache_dir_or_default(cache_dir)

    def fetch():
        archive = _download(NAMES_URL, cache_dir / "names_data.zip", sha256=NAMES_ZIP_SHA256)
        return ("dir", _extract_names_zip(archive, cache_dir))

    return locate(
        path, cache_dir, _names_dir,
        not_a_dataset="a folder of <Language>.txt files nor a folder holding names/ (or data/names/) with them",
        fetch=fetch if download else None,
        env_note=" (no names/ folder of <Language>.txt files)",
        cache_note=f" (no {cache_dir / 'names'})",
        not_found=lambda looked: (
            "the names data set (18 files <Language>.txt) was not found. Looked in:\n"
            + "".join(f"  - {w}\n" for w in looked)
            + f"Do one of:\n  * unzip data/names/ of {NAMES_URL} into {cache_dir / 'names'}\n"
            "  * set MINIDL_DATA to a folder holding names/ (or pass path=...)\n"
            "  * pass download=True to fetch it over HTTPS"),
    )[1]


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
        raise RangeError(f"load_names: test_fraction must lie in [0, 1), got {test_fraction}")
    folder = find_names(path, cache_dir, download)
    contents = {f.stem: f.read_bytes() for f in _language_files(folder)}
    check_names_files(contents, folder)
    languages = tuple(contents)
    rng = np.random.default_rng(seed)
    parts = {"train": ([], []), "test": ([], [])}
    total, per_language = 0, []
    for label, lang in enumerate(languages):
        try:
            lines = contents[lang].decode("utf-8").splitlines()
        except UnicodeDecodeError as e:
            raise DataError(f"{folder}/{lang}.txt is not UTF-8 text ({e}). {_REDO}") from None
        names = [n for n in (unicode_to_ascii(line.strip()) for line in lines) if n]
        if not names:
            raise DataError(f"{folder}/{lang}.txt holds no names (no line has a letter). {_REDO}")
        total += len(names)
        per_language.append(len(names))
        if unique:
            names = list(dict.fromkeys(names))  # first occurrence of each, file order kept
        order = rng.permutation(len(names))
        n_test = int(round(test_fraction * len(names)))
        if n_test >= len(names):
            raise DataError(f"{folder}/{lang}.txt holds {len(names)} name(s): too few for a held-out split of "
                            f"{test_fraction:.0%} (it would leave none to train on)")
        for split, idx in (("test", order[:n_test]), ("train", order[n_test:])):
            parts[split][0].extend(names[i] for i in sorted(idx))
            parts[split][1].extend([label] * len(idx))
    if languages == tuple(NAMES_FILES) and total != NAMES_TOTAL:  # implied by the checksums; a last guard
        raise DataError(f"{folder}: {total:,} names read, the release has {NAMES_TOTAL:,}. {_REDO}")
    if len(contents) < 2:
        raise DataError(f"{folder} holds {len(contents)} language file ({', '.join(f'{k}.txt' for k in contents)}): "
                        "classifying names needs at least 2 languages, one <Language>.txt file each")
    if test_fraction > 0 and not parts["test"][0]:
        counts = ", ".join(f"{lang} {n}" for lang, n in zip(languages, per_language))
        raise DataError(f"{folder}: too few names for a held-out split of {test_fraction:.0%}: no language has enough "
                        f"names to put one in the test set ({counts}; {int(math.ceil(0.5 / test_fraction))} or more "
                        "names per language are needed)")
    splits = {}
    for split, (names, labels) in parts.items():
        ids, lengths = encode_names(names) if names else (np.zeros((0, 1), np.int64), np.zeros(0, np.int64))
        splits[split] = NamesSplit(names, np.array(labels, dtype=np.int64), ids, lengths)
    return NamesData(splits["train"], splits["test"], languages, str(folder))
