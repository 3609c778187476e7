"""CIFAR-10 (Krizhevsky, 2009) from its canonical *binary* release, plus the usual augmentation.

The binary layout (``cifar-10-binary.tar.gz``, folder ``cifar-10-batches-bin/``) is six
files of fixed-size records, no pickle anywhere::

    data_batch_1.bin … data_batch_5.bin   10,000 records each   (training, 50,000)
    test_batch.bin                         10,000 records        (test)
    batches.meta.txt                       the 10 class names, one per line

    record = 1 label byte (0–9) + 3,072 pixel bytes: the 1,024 red values of the 32×32
             image row by row, then the 1,024 green, then the 1,024 blue

so a file is an ``(n, 3073)`` byte matrix: column 0 is the label and the rest reshapes to
``(n, 3, 32, 32)`` — already PyTorch's (N, C, H, W) order. Reading it is one
``numpy.frombuffer``; there is nothing worth caching.

Where it looks (:func:`find_cifar10`): ``path`` if given (a ``cifar-10-batches-bin/``
folder, a folder containing one or the archive, or the archive itself); else
``$MINIDL_DATA``, then the cache folder (``$MINIDL_CACHE`` or ``~/.cache/minidl``); and
with ``download=True`` it fetches the official archive over HTTPS into the cache folder,
checking its published SHA-256. Archives are read in place: only the seven known members
are kept, a member name that would escape a folder is refused, and the archive is read to
its end so that a damaged or truncated one is an error (:func:`~minidl.data.archive.iter_tar`).
A local file named ``cifar-10-binary.tar.gz`` must have the published SHA-256. The six
batch files must hold whole records, labels in [0, 10), and as many records each (10,000
in the release: 50,000 + 10,000 images). Every failure is a
:class:`~minidl.errors.DataError` naming the file and what to do.

Pre-processing (host-only NumPy, applied per batch by :class:`CifarLoader`):

* :func:`normalize`: ``x = (pixel/255 − mean_c) / std_c`` per channel, float32, with the
  mean and standard deviation of the training images (:func:`channel_stats`).
* :func:`random_crop`: zero-pad 4 pixels on each side, cut a random 32×32 window;
  :func:`horizontal_flip`: mirror half of the images. The standard CIFAR augmentation
  (He et al., 2016), done on the uint8 images before normalisation, as torchvision does.
"""

from __future__ import annotations

import posixpath
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator

import numpy as np

from ..errors import DataError, DTypeError, RangeError, ShapeError
from .archive import iter_tar
from .batching import Batch, BatchLoader, array_digest
from .download import check_official_copy
from .download import download as _download
from .locate import cache_dir_or_default, locate

__all__ = [
    "CIFAR10_URL", "CIFAR10_SHA256", "CIFAR10_MD5", "CLASSES", "ImageSplit", "Cifar10Data",
    "parse_records", "find_cifar10", "load_cifar10", "channel_stats", "normalize",
    "random_crop", "horizontal_flip", "CifarLoader",
]

CIFAR10_URL = "https://www.cs.toronto.edu/~kriz/cifar-10-binary.tar.gz"
#: published checksums of ``cifar-10-binary.tar.gz`` (170,052,171 bytes)
CIFAR10_SHA256 = "c4a38c50a1bc5f3a1c5537f2155ab9d68f9f25eb1ed8d9ddda3db29a59bca1dd"
CIFAR10_MD5 = "c32a1d4ab5d03f1284b67883e8d87530"
ARCHIVE_NAME = "cifar-10-binary.tar.gz"
FOLDER = "cifar-10-batches-bin"
TRAIN_FILES = tuple(f"data_batch_{i}.bin" for i in range(1, 6))
TEST_FILE = "test_batch.bin"
META_FILE = "batches.meta.txt"
CLASSES = ("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck")
RECORD = 1 + 3 * 32 * 32
#: records in each of the six files of the release (50,000 training + 10,000 test images)
RELEASE_PER_FILE = 10_000
_REDO = ("Delete it and download it again (download=True, --download in the examples), or pass a complete copy "
         "with path=... (--data)")


@dataclass
class ImageSplit:
    """One split. ``images``: (N, 3, 32, 32) uint8 RGB; ``labels``: (N,) int64 in [0, 10)."""

    images: np.ndarray
    labels: np.ndarray

    def __len__(self) -> int:
        return len(self.labels)

    def subset(self, index) -> ImageSplit:
        """The rows ``index`` (ints or a boolean mask): images (n, 3, 32, 32), labels (n,)."""
        return ImageSplit(self.images[index], self.labels[index])


@dataclass
class Cifar10Data:
    """What :func:`load_cifar10` returns: ``train`` (50,000), ``test`` (10,000), ``classes``,
    and ``info`` (``source``, ``kind``, ``seconds``)."""

    train: ImageSplit
    test: ImageSplit
    classes: tuple = CLASSES
    info: dict = field(default_factory=dict)

    def __repr__(self) -> str:
        return f"Cifar10Data(train={len(self.train)}, test={len(self.test)}, classes={len(self.classes)})"


# --8<-- [start:parse]
def parse_records(buf: bytes, name: str = "buffer") -> tuple[np.ndarray, np.ndarray]:
    """Bytes of a ``*.bin`` file -> ``images (n, 3, 32, 32) uint8``, ``labels (n,) int64``."""
    if len(buf) == 0 or len(buf) % RECORD:
        raise DataError(f"{name}: {len(buf)} bytes is not a whole number of {RECORD}-byte CIFAR-10 records "
                        f"(the file is truncated or not a CIFAR-10 binary batch). {_REDO}")
    rows = np.frombuffer(buf, dtype=np.uint8).reshape(-1, RECORD)
    labels = rows[:, 0].astype(np.int64)
    if labels.max() >= len(CLASSES):
        raise DataError(f"{name}: label byte {labels.max()} outside [0, {len(CLASSES)}): the file is damaged. {_REDO}")
    images = rows[:, 1:].reshape(-1, 3, 32, 32).copy()  # R plane, G plane, B plane, row-major
    return images, labels
# --8<-- [end:parse]


def _resolve(p: Path):
    """A folder or archive -> ("dir", cifar-10-batches-bin folder) or ("tar", archive), or None."""
    if p.is_file():
        return ("tar", p) if p.name.endswith((".tar.gz", ".tgz", ".tar")) else None
    if not p.is_dir():
        return None
    for folder in (p, p / FOLDER):
        if all((folder / f).is_file() for f in TRAIN_FILES + (TEST_FILE,)):
            return ("dir", folder)
    if (p / ARCHIVE_NAME).is_file():
        return ("tar", p / ARCHIVE_NAME)
    return None


def find_cifar10(path=None, cache_dir=None, download: bool = False):
    """Locate the binary release: ``("dir", folder)`` or ``("tar", archive)``.

    Raises ``FileNotFoundError`` saying where to put it when nothing is found and
    ``download`` is False.
    """
    cache_dir = cache_dir_or_default(cache_dir)
    return locate(
        path, cache_dir, _resolve,
        not_a_dataset=(f"a {FOLDER}/ folder (with {', '.join(TRAIN_FILES)} and {TEST_FILE}), a folder containing "
                       f"one or {ARCHIVE_NAME}, nor a .tar.gz archive"),
        fetch=(lambda: ("tar", _download(CIFAR10_URL, cache_dir / ARCHIVE_NAME, sha256=CIFAR10_SHA256)))
        if download else None,
        not_found=lambda looked: (
            f"CIFAR-10 (binary version) not found; looked in {', '.join(looked)} for a {FOLDER}/ folder or "
            f"{ARCHIVE_NAME}. Put {ARCHIVE_NAME} ({CIFAR10_URL}) or the extracted folder there, pass "
            f"path=... (--data in the examples), or download=True (--download) to fetch it (170 MB)"
        ),
    )


def _read_files(kind: str, source: Path) -> dict[str, bytes]:
    """The bytes of the six batch files (and the class names), from a folder or an archive.

    An archive named ``cifar-10-binary.tar.gz`` must have the published SHA-256; any archive
    is read to its end (:func:`~minidl.data.archive.iter_tar`: names and links checked, a
    damaged or truncated archive refused); only the seven known members are kept, in memory.
    """
    wanted = TRAIN_FILES + (TEST_FILE, META_FILE)
    if kind == "dir":
        return {f: (source / f).read_bytes() for f in wanted if (source / f).is_file()}
    if source.name == ARCHIVE_NAME:
        check_official_copy(source, CIFAR10_SHA256, CIFAR10_URL)

    def keep(name, member):
        base = posixpath.basename(name)
        return base in wanted and name.endswith(f"{FOLDER}/{base}")

    out = {posixpath.basename(name): data for name, _, data in iter_tar(source, want=keep) if data is not None}
    missing = [f for f in TRAIN_FILES + (TEST_FILE,) if f not in out]
    if missing:
        raise DataError(f"{source}: the archive lacks {FOLDER}/{', '.join(missing)}. {_REDO}")
    return out


def _check_complete(parts: dict, source: Path) -> None:
    """All six files hold the same number of records: 10,000 each in the release (and in a
    copy made by ``make_cifar10_bin.py``), so a file cut at a record boundary is caught."""
    counts = {f: len(labels) for f, (_, labels) in parts.items()}
    want = RELEASE_PER_FILE if RELEASE_PER_FILE in counts.values() else max(counts.values())
    short = {f: n for f, n in counts.items() if n != want}
    if short:
        listed = ", ".join(f"{f}: {n:,}" for f, n in short.items())
        raise DataError(f"{source}: every batch file should hold {want:,} records (as the others do), but {listed}: "
                        f"the copy is incomplete. {_REDO}")


def load_cifar10(path=None, cache_dir=None, download: bool = False, limit: int | None = None,
                 seed: int = 0) -> Cifar10Data:
    """Load both splits as uint8 images and int64 labels (see the module docstring).

    Args:
        path: a ``cifar-10-batches-bin/`` folder, a folder holding it or the archive, or
            the archive; ``None`` searches ``$MINIDL_DATA`` and the cache folder.
        download: fetch the official archive (HTTPS, SHA-256 checked) when nothing is found.
        limit: keep a random ``limit`` images of each split (seeded), for quick runs.

    Returns:
        :class:`Cifar10Data` with ``train.images: (50000, 3, 32, 32) uint8``,
        ``train.labels: (50000,) int64``, likewise ``test`` (10,000).
    """
    t0 = time.perf_counter()
    if limit is not None and int(limit) < 1:
        raise RangeError(f"load_cifar10: limit must be a positive int or None, got {limit}")
    kind, source = find_cifar10(path, cache_dir, download)
    files = _read_files(kind, source)
    parts = {f: parse_records(files[f], f"{source}: {f}") for f in TRAIN_FILES + (TEST_FILE,)}
    _check_complete(parts, source)
    train = ImageSplit(*(np.concatenate([parts[f][i] for f in TRAIN_FILES]) for i in (0, 1)))
    test = ImageSplit(*parts[TEST_FILE])
    classes = CLASSES
    if META_FILE in files:
        names = tuple(n.strip() for n in files[META_FILE].decode("ascii", "replace").splitlines() if n.strip())
        if len(names) == len(CLASSES):
            classes = names
    if limit is not None:
        rng = np.random.default_rng(seed)
        train = train.subset(np.sort(rng.permutation(len(train))[: int(limit)]))
        test = test.subset(np.sort(rng.permutation(len(test))[: int(limit)]))
    info = {"source": str(source), "kind": kind, "seconds": time.perf_counter() - t0}
    return Cifar10Data(train, test, classes, info)


# --8<-- [start:preprocess]
def channel_stats(images) -> tuple[np.ndarray, np.ndarray]:
    """Per-channel mean and standard deviation of uint8 images (N, C, H, W), in [0, 1] units."""
    mean, std = [], []
    for c in range(images.shape[1]):  # one channel at a time: 50,000 images in float64 would be 1.2 GB
        x = images[:, c].astype(np.float32) / 255.0
        m = x.mean(dtype=np.float64)
        mean.append(m)
        std.append(np.sqrt(np.mean(np.square(x - np.float32(m)), dtype=np.float64)))
    return np.array(mean), np.array(std)


def normalize(images, mean, std) -> np.ndarray:
    """uint8 (N, C, H, W) -> float32 ``(pixel/255 − mean_c) / std_c``."""
    mean = np.asarray(mean, np.float32).reshape(1, -1, 1, 1)
    std = np.asarray(std, np.float32).reshape(1, -1, 1, 1)
    return ((images.astype(np.float32) / 255.0 - mean) / std).astype(np.float32)


def random_crop(images, padding: int, rng) -> np.ndarray:
    """Zero-pad ``padding`` pixels on every side, then cut a random H×W window per image.

    All windows of the padded batch are one strided view, ``(N, C, 2p+1, 2p+1, H, W)``;
    picking window ``(dy_n, dx_n)`` for every image ``n`` is one fancy index.
    """
    N, C, H, W = images.shape
    p = int(padding)
    padded = np.pad(images, ((0, 0), (0, 0), (p, p), (p, p)))
    windows = np.lib.stride_tricks.sliding_window_view(padded, (H, W), axis=(2, 3))
    dy = rng.integers(0, 2 * p + 1, size=N)
    dx = rng.integers(0, 2 * p + 1, size=N)
    return windows[np.arange(N), :, dy, dx]  # (N, C, H, W), a copy


def horizontal_flip(images, rng, p: float = 0.5) -> np.ndarray:
    """Mirror each image left-right with probability ``p``."""
    out = images.copy()
    flip = rng.random(len(images)) < p
    out[flip] = images[flip][..., ::-1]
    return out
# --8<-- [end:preprocess]


class CifarLoader:
    """Mini-batches of normalised float32 images, optionally augmented.

    Args:
        split: an :class:`ImageSplit` (uint8 images).
        batch_size, shuffle, seed, drop_last: as :class:`~minidl.data.BatchLoader`, which
            decides the order.
        mean, std: per-channel statistics for :func:`normalize` (those of the training set).
        crop_padding: random-crop padding (0: no crop); flip: random horizontal flips.

    Each batch is a :class:`~minidl.data.Batch` with ``x: (B, 3, 32, 32) float32`` and
    ``y: (B,) int64``. The augmentation of epoch ``e`` draws from
    ``default_rng([seed, e, 1])``, so a run resumed from a checkpoint between epochs sees the
    same images it would have seen (``state_dict`` is the order's ``{"seed", "epoch"}``).
    """

    def __init__(self, split: ImageSplit, batch_size: int = 128, *, mean, std, shuffle: bool = True,
                 seed: int = 0, crop_padding: int = 0, flip: bool = False, drop_last: bool = False):
        if split.images.dtype != np.uint8:
            raise DTypeError(f"CifarLoader: split.images must be uint8 images (N, C, H, W), got dtype "
                             f"{split.images.dtype}")
        if split.images.ndim != 4:
            raise ShapeError(f"CifarLoader: split.images must have shape (N, C, H, W), got {split.images.shape}")
        self.split = split
        self.order = BatchLoader(np.arange(len(split)), None, batch_size=batch_size, shuffle=shuffle,
                                 seed=seed, drop_last=drop_last)
        self.mean, self.std = np.asarray(mean, np.float32), np.asarray(std, np.float32)
        self.crop_padding, self.flip = int(crop_padding), bool(flip)

    def __len__(self) -> int:
        return len(self.order)

    def fingerprint(self) -> str:
        """A digest of the images, labels, augmentation and batch order (see
        :meth:`BatchLoader.fingerprint <minidl.data.batching.BatchLoader.fingerprint>`)."""
        return array_digest(self.split.images, self.split.labels, self.mean, self.std,
                            extra=f"{self.order.fingerprint()}:{self.crop_padding}:{self.flip}")

    def __iter__(self) -> Iterator[Batch]:
        epoch = self.order.epoch
        rng = np.random.default_rng([self.order.seed, epoch, 1])
        for batch in self.order:
            index = batch.x
            images = self.split.images[index]
            if self.crop_padding:
                images = random_crop(images, self.crop_padding, rng)
            if self.flip:
                images = horizontal_flip(images, rng)
            yield Batch(normalize(images, self.mean, self.std), self.split.labels[index], None, index)

    def state_dict(self) -> dict:
        """``{"seed", "epoch"}`` of the batch order: all that decides the coming epochs."""
        return self.order.state_dict()

    def load_state_dict(self, state: dict) -> None:
        """Restore :meth:`state_dict` so a resumed run draws the same batches."""
        self.order.load_state_dict(state)

    def __repr__(self) -> str:
        return (f"CifarLoader(N={len(self.split)}, batch_size={self.order.batch_size}, shuffle={self.order.shuffle}, "
                f"crop_padding={self.crop_padding}, flip={self.flip}, epochs_drawn={self.order.epoch})")

