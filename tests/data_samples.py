"""Tiny data sets made on the spot for the loader tests (no network, no real data), and the
ways to damage a file that the integrity tests use."""

import gc
import gzip
import io
import tarfile
import warnings
from contextlib import contextmanager
from pathlib import Path

import numpy as np

from minidl.data import cifar10


# ----------------------------------------------------------------------------- damage
@contextmanager
def warnings_and_leaks():
    """Every warning the block raises, listed, and then those of the objects it left to the
    garbage collector: a file left open warns (ResourceWarning) only when it is collected."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        yield caught
        gc.collect()


def flip_byte(src, dst, fraction):
    """Copy ``src`` to ``dst`` with the byte at ``fraction`` of its length inverted."""
    data = bytearray(Path(src).read_bytes())
    data[int(fraction * len(data))] ^= 0xFF
    Path(dst).write_bytes(bytes(data))
    return dst


def truncate(src, dst, fraction):
    """Copy the first ``fraction`` of ``src`` to ``dst``."""
    data = Path(src).read_bytes()
    Path(dst).write_bytes(data[: int(fraction * len(data))])
    return dst


# ------------------------------------------------------------------------------ tar files
def make_tar(path, members, compress=True):
    """A tar(.gz) with fixed times, so its bytes are the same on every run.

    members: (name, bytes) for a file, (name, None) for a folder, (name, ("sym"|"hard",
    target)) for a link.
    """
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.GNU_FORMAT) as tar:
        for name, content in members:
            info = tarfile.TarInfo(name)
            info.mtime = 1_000_000_000
            if content is None:
                info.type, info.mode = tarfile.DIRTYPE, 0o755
                tar.addfile(info)
            elif isinstance(content, tuple):
                info.type = tarfile.SYMTYPE if content[0] == "sym" else tarfile.LNKTYPE
                info.linkname = content[1]
                tar.addfile(info)
            else:
                info.size = len(content)
                tar.addfile(info, io.BytesIO(content))
    raw = buf.getvalue()
    with open(path, "wb") as f:
        f.write(gzip.compress(raw, mtime=0) if compress else raw)
    return path


# ----------------------------------------------------------------------------------- IMDB
REVIEWS = {
    ("train", "pos", 0, 9): "A great film.<br /><br />Great acting!",
    ("train", "pos", 1, 10): "Great great fun",
    ("train", "neg", 0, 1): "A bad film, bad acting.",
    ("train", "neg", 1, 3): "Boring",
    ("test", "pos", 0, 8): "Great fun, a great film",
    ("test", "neg", 0, 2): "Bad. Unseen words here",
    ("test", "neg", 1, 4): "bad bad bad bad bad bad bad bad film",
}


def make_imdb_folder(root, reviews=REVIEWS):
    """``root/aclImdb/{train,test}/{pos,neg}/<id>_<rating>.txt`` (+ an unlabelled review and a README)."""
    for (split, label, rid, rating), text in reviews.items():
        d = root / "aclImdb" / split / label
        d.mkdir(parents=True, exist_ok=True)
        (d / f"{rid}_{rating}.txt").write_text(text, encoding="utf-8")
    (root / "aclImdb" / "train" / "unsup").mkdir()
    (root / "aclImdb" / "train" / "unsup" / "0_0.txt").write_text("unlabelled, ignored")
    (root / "aclImdb" / "README").write_text("readme")
    return root


def imdb_members(reviews=REVIEWS, marker=False):
    """The members of an aclImdb archive holding ``reviews`` (and ``imdb.vocab`` if ``marker``)."""
    members = [("aclImdb", None)] + ([("aclImdb/imdb.vocab", b"the\na\n")] if marker else [])
    for (split, label, rid, rating), text in sorted(reviews.items()):
        members.append((f"aclImdb/{split}/{label}/{rid}_{rating}.txt", text.encode()))
    return members


def random_reviews(n_per_folder, seed=0, words=30):
    """``n_per_folder`` reviews of random made-up words in each of the four folders, ids
    0..n-1: text that compresses badly, so a damaged byte lands inside some review."""
    rng = np.random.default_rng(seed)
    vocab = ["".join(rng.choice(list("abcdefghij"), 5)) for _ in range(300)]
    out = {}
    for split in ("train", "test"):
        for label, rating in (("neg", 3), ("pos", 8)):
            for i in range(n_per_folder):
                out[(split, label, i, rating)] = " ".join(rng.choice(vocab, words))
    return out


# ------------------------------------------------------------------------------- CIFAR-10
def _records(n, seed):
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 10, size=n).astype(np.uint8)
    images = rng.integers(0, 256, size=(n, 3, 32, 32)).astype(np.uint8)
    raw = np.concatenate([labels[:, None], images.reshape(n, -1)], axis=1)
    return raw.tobytes(), images, labels


def write_cifar_release(folder, n=3):
    """A miniature binary release: 5 train files of n records and a test file of n records."""
    folder.mkdir(parents=True, exist_ok=True)
    train_imgs, train_labels = [], []
    for i, name in enumerate(cifar10.TRAIN_FILES):
        raw, im, lb = _records(n, i)
        (folder / name).write_bytes(raw)
        train_imgs.append(im)
        train_labels.append(lb)
    raw, test_im, test_lb = _records(n, 99)
    (folder / cifar10.TEST_FILE).write_bytes(raw)
    (folder / cifar10.META_FILE).write_text("\n".join(cifar10.CLASSES) + "\n\n")
    return np.concatenate(train_imgs), np.concatenate(train_labels), test_im, test_lb


# ---------------------------------------------------------------------------------- names
def write_names(folder):
    """Three made-up languages (not the release's 18, whose files are checksummed)."""
    folder.mkdir(parents=True)
    (folder / "Cechian.txt").write_text("Novák\nDvořák\nSvoboda\nČerný\nKučera\n", encoding="utf-8")
    (folder / "Arabian.txt").write_text("Khoury\nNahas\n\nDaher\n", encoding="utf-8")
    (folder / "Hellenic.txt").write_text("Pappas\nPappas\nPapadopoulos\n", encoding="utf-8")
    return folder
