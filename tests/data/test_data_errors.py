"""Every public loader, data helper and checkpoint function on bad input: one table, each
row a call, the minidl error it must raise and what its message must say (the argument or
the file, and what to do). The longer stories (damaged archives, links, 416) have their
own tests beside this file."""

import io
import tarfile
import zipfile

import numpy as np
import pytest
from data_samples import imdb_members, make_imdb_folder, make_tar, random_reviews, write_cifar_release

import minidl
from minidl.data import BatchLoader, Vocabulary, cifar10, download, names, pad_sequences, safe_extract
from minidl.data.imdb import load_imdb
from minidl.errors import CheckpointError, DataError, DTypeError, RangeError, ShapeError
from minidl.serialization import check_state_value


@pytest.fixture
def tmp(tmp_path, monkeypatch):
    monkeypatch.delenv("MINIDL_DATA", raising=False)
    monkeypatch.setenv("MINIDL_CACHE", str(tmp_path / "cache"))
    return tmp_path


def _imdb(tmp):
    return make_imdb_folder(tmp / "imdb")


def _cifar(tmp):
    write_cifar_release(tmp / "c" / "cifar-10-batches-bin", n=2)
    return tmp / "c"


def _names_zip(tmp):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("data/names/Elvish.txt", "Elrond\n" * 50)
    raw = buf.getvalue()
    (tmp / "data.zip").write_bytes(raw[: len(raw) // 2])
    return tmp / "data.zip"


def _names_nonutf8(tmp):
    (tmp / "n").mkdir()
    (tmp / "n" / "Elvish.txt").write_bytes(b"\xff\xfe\x00bad")
    return tmp / "n"


def _tar_with(tmp, members, name="x.tar.gz"):
    return make_tar(tmp / name, members)


def _ck(tmp, content: bytes):
    (tmp / "ck.npz").write_bytes(content)
    return tmp / "ck.npz"


def _bad_member_tar(tmp):
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as t:
        info = tarfile.TarInfo("../escape.txt")
        info.size = 1
        t.addfile(info, io.BytesIO(b"x"))
    (tmp / "esc.tar").write_bytes(buf.getvalue())
    return tmp / "esc.tar"


# id, call(tmp), error class, message (regex)
CASES = [
    # IMDB loader
    ("imdb-vocab_size", lambda t: load_imdb(_imdb(t), vocab_size=1), RangeError, "vocab_size .* >= 2, got 1"),
    ("imdb-max_len", lambda t: load_imdb(_imdb(t), max_len=0), RangeError, "max_len must be a positive"),
    ("imdb-truncate", lambda t: load_imdb(_imdb(t), truncate="left"), RangeError, "truncate and pad"),
    ("imdb-limit", lambda t: load_imdb(_imdb(t), limit=0), RangeError, "limit must be a positive"),
    ("imdb-not-found", lambda t: load_imdb(), DataError, "(?s)IMDB .* not found.*download=True"),
    ("imdb-path-not-data", lambda t: load_imdb(t / "nowhere"), DataError, "nowhere.*is neither"),
    ("imdb-not-a-tar", lambda t: load_imdb(_ck(t, b"hello").rename(t / "x.tar.gz")), DataError,
     "x.tar.gz is damaged or truncated"),
    ("imdb-empty-class", lambda t: load_imdb(_tar_with(t, imdb_members(
        {k: v for k, v in random_reviews(2).items() if k[:2] != ("train", "neg")}))), DataError,
     "no train/neg reviews found"),
    ("imdb-unsafe-member", lambda t: load_imdb(_tar_with(t, imdb_members() + [("aclImdb/../x", b"e")])),
     DataError, r"climbs out"),
    # names loader and helpers
    ("names-test_fraction", lambda t: names.load_names(t, test_fraction=1.0), RangeError, r"test_fraction .*\[0, 1\)"),
    ("names-empty-file", lambda t: (t / "n").mkdir() or (t / "n" / "Elvish.txt").write_text("")
     or names.load_names(t / "n"), DataError, "Elvish.txt holds no names"),
    ("names-not-utf8", lambda t: names.load_names(_names_nonutf8(t)), DataError, "Elvish.txt is not UTF-8"),
    ("names-damaged-zip", lambda t: names._extract_names_zip(_names_zip(t), t), DataError,
     "data.zip is damaged or truncated"),
    ("names-not-found", lambda t: names.load_names(cache_dir=t / "c"), DataError, "names data set .* not found"),
    ("names-letter", lambda t: names.letter_to_index("-"), RangeError, "letter must be one of the 57"),
    ("names-pad", lambda t: names.encode_names(["Ab"], pad="left"), RangeError, "pad must be"),
    ("names-one_hot-dtype", lambda t: names.one_hot(np.array([1.0])), DTypeError, "ids must be integers"),
    ("names-one_hot-range", lambda t: names.one_hot(np.array([57])), RangeError, r"\[0, 57\)"),
    # CIFAR-10 loader
    ("cifar-limit", lambda t: cifar10.load_cifar10(_cifar(t), limit=0), RangeError, "limit must be a positive"),
    ("cifar-not-found", lambda t: cifar10.load_cifar10(cache_dir=t / "c"), DataError, "CIFAR-10 .* not found"),
    ("cifar-records", lambda t: cifar10.parse_records(b"\0" * 3000, "x.bin"), DataError, "x.bin: 3000 bytes"),
    ("cifar-label", lambda t: cifar10.parse_records(bytes([12]) + bytes(3072), "x.bin"), DataError,
     "label byte 12"),
    ("cifar-missing-member", lambda t: cifar10.load_cifar10(_tar_with(t, [
        ("cifar-10-batches-bin/test_batch.bin", bytes(3073))])), DataError, "lacks cifar-10-batches-bin/data_batch_1"),
    ("cifar-loader-dtype", lambda t: cifar10.CifarLoader(cifar10.ImageSplit(np.zeros((2, 3, 4, 4)), np.zeros(2)),
                                                         mean=0, std=1), DTypeError, "split.images must be uint8"),
    ("cifar-loader-shape", lambda t: cifar10.CifarLoader(cifar10.ImageSplit(np.zeros((2, 4), np.uint8),
                                                                            np.zeros(2)), mean=0, std=1),
     ShapeError, r"shape \(N, C, H, W\)"),
    # batching and text
    ("batch-empty-x", lambda t: BatchLoader(np.zeros((0, 3)), None), ShapeError, "x must be a non-empty"),
    ("batch-y-rows", lambda t: BatchLoader(np.zeros((4, 3)), np.zeros(3)), ShapeError, "y must have N = 4"),
    ("batch-size", lambda t: BatchLoader(np.zeros((4, 3)), None, batch_size=0), RangeError, "batch_size"),
    ("batch-lengths", lambda t: BatchLoader(np.zeros((4, 3)), None, lengths=np.array([1, 2, 3, 9])), RangeError,
     r"lengths must lie in \[0, T = 3\]"),
    ("vocab-size", lambda t: Vocabulary.build([["a"]], 1), RangeError, "size must be >= 2"),
    ("vocab-decode", lambda t: Vocabulary.build([["a"]], 3).decode([7]), RangeError, "token id 7 outside"),
    ("pad-max_len", lambda t: pad_sequences([[1]], 0), RangeError, "max_len must be >= 1"),
    # download and extraction
    ("download-http", lambda t: download.download("http://example.org/a", t / "a"), ValueError, "non-HTTPS"),
    ("official-copy", lambda t: download.check_official_copy(_ck(t, b"x"), "0" * 64, "https://e.org/a"),
     DataError, "ck.npz carries the name of the official archive"),
    ("extract-escape", lambda t: safe_extract(_bad_member_tar(t), t / "out"), DataError, r"climbs out"),
    ("extract-damaged", lambda t: safe_extract(_ck(t, b"\x1f\x8b" + b"junk" * 40), t / "out"), DataError,
     "ck.npz is damaged or truncated"),
    # checkpoints
    ("ck-empty", lambda t: minidl.load(_ck(t, b"")), CheckpointError, "ck.npz is empty"),
    ("ck-text", lambda t: minidl.load(_ck(t, b"loss 0.5\n")), CheckpointError, "ck.npz is not an .npz"),
    ("ck-npy", lambda t: minidl.load(_ck(t, b"\x93NUMPY\x01\x00")), CheckpointError, "single .npy array"),
    ("ck-truncated", lambda t: minidl.load(_ck(t, b"PK\x03\x04" + b"\0" * 40)), CheckpointError,
     "ck.npz is truncated or damaged"),
    ("ck-key-slash", lambda t: minidl.save({"a/b": 1}, t / "s.npz"), ValueError, "may not contain '/'"),
    ("ck-object-value", lambda t: minidl.save({"a": object()}, t / "s.npz"), TypeError, "not an array"),
    ("ck-complex-into-float", lambda t: check_state_value("w", np.ones(2, complex), np.ones(2, np.float32)),
     CheckpointError, "'w' must be a floating array .*got dtype complex128"),
]


@pytest.mark.parametrize("call, error, message", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_bad_input_raises_a_minidl_error_with_a_clear_message(tmp, call, error, message):
    with pytest.raises(error, match=message):
        call(tmp)
