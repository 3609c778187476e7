"""Checkpoint files (minidl.save / minidl.load): round trip, atomic writes, and every kind of
damaged or foreign file refused with a CheckpointError naming it; the dtype rule for
copying a loaded array into a parameter."""

import os
import zipfile
from pathlib import Path

import numpy as np
import pytest
from data_samples import warnings_and_leaks

import minidl
from minidl import nn
from minidl.errors import CheckpointError
from minidl.serialization import check_state_value


def test_save_load_roundtrip_nested(tmp_path):
    m = nn.Linear(3, 2)
    state = {"model": m.state_dict(), "epoch": 4, "name": "lstm", "hist": {"loss": np.arange(3.0)}, "empty": {}}
    path = minidl.save(state, tmp_path / "a.npz")
    back = minidl.load(path)
    assert back["epoch"] == 4 and back["name"] == "lstm" and back["empty"] == {}
    np.testing.assert_array_equal(back["model"]["weight"], m.weight.data)
    np.testing.assert_array_equal(back["hist"]["loss"], np.arange(3.0))
    assert not [f for f in os.listdir(tmp_path) if f.startswith(".tmp")]


def test_save_is_atomic_on_failure(tmp_path):
    path = minidl.save({"a": np.ones(3)}, tmp_path / "ck.npz")
    with pytest.raises(TypeError):
        minidl.save({"a": np.zeros(3), "bad": object()}, path)
    np.testing.assert_array_equal(minidl.load(path)["a"], np.ones(3))  # old file intact
    assert sorted(os.listdir(tmp_path)) == ["ck.npz"]


def _good(tmp_path):
    return minidl.save({"model": {"w": np.arange(2000.0)}, "epoch": 3}, tmp_path / "good.npz")


def _npy(path):
    np.save(path.with_suffix(".npy"), np.ones(3))
    os.replace(path.with_suffix(".npy"), path)


def _object_array(path):
    np.savez(path, obj=np.array([{"x": 1}], dtype=object))


def _damaged_member(path, good):
    """Central directory intact, one array's bytes changed: the zip CRC must catch it."""
    with zipfile.ZipFile(good) as z:
        info = z.getinfo("model/w.npy")
        offset = info.header_offset + 30 + len(info.filename) + len(info.extra) + 500
    data = bytearray(Path(good).read_bytes())
    data[offset] ^= 0xFF
    path.write_bytes(bytes(data))


# (what is wrong, how to make it, what the message must say)
CORRUPT = [
    ("empty", lambda p, g: p.write_bytes(b""), "is empty"),
    ("truncated-half", lambda p, g: p.write_bytes((lambda b: b[:len(b) // 2])(Path(g).read_bytes())),
     "truncated or damaged"),
    ("truncated-tail", lambda p, g: p.write_bytes(Path(g).read_bytes()[:-10]), "truncated or damaged"),
    ("text", lambda p, g: p.write_text("epoch,loss\n1,0.5\n"), "is not an .npz file"),
    ("npy", lambda p, g: _npy(p), "is a single .npy array"),
    ("object", lambda p, g: _object_array(p), "holds Python objects.*allow_pickle=False"),
    ("bit-flip", _damaged_member, "'model/w' cannot be read.*damaged"),
]


@pytest.mark.parametrize("what, make, message", CORRUPT, ids=[c[0] for c in CORRUPT])
def test_a_damaged_or_foreign_checkpoint_is_a_checkpoint_error_naming_it(tmp_path, what, make, message):
    path = tmp_path / f"{what}.npz"
    make(path, _good(tmp_path))
    with pytest.raises(CheckpointError, match=message) as err:
        minidl.load(path)
    assert str(path) in str(err.value)


@pytest.mark.parametrize("what, make, message", CORRUPT, ids=[c[0] for c in CORRUPT])
def test_a_refused_checkpoint_leaves_no_file_open(tmp_path, what, make, message):
    """Every refusal closes the file it opened (np.load, given a path, kept its handle when a
    truncated zip could not be read: one leaked descriptor per bad load, e.g. per resume try)."""
    path = tmp_path / f"{what}.npz"
    make(path, _good(tmp_path))
    with warnings_and_leaks() as caught, pytest.raises(CheckpointError):
        minidl.load(path)
    leaks = [w for w in caught if issubclass(w.category, ResourceWarning)]
    assert not leaks, [str(w.message) for w in leaks]


def test_a_missing_checkpoint_is_file_not_found(tmp_path):
    with pytest.raises(FileNotFoundError):
        minidl.load(tmp_path / "nope.npz")


@pytest.mark.parametrize("value, like, ok", [
    (np.ones(3, np.float64), np.ones(3, np.float32), True),  # another float width: as PyTorch's copy_
    (np.ones(3, np.float32), np.ones(3, np.float64), True),
    (np.ones(3, np.complex128), np.ones(3, np.float32), False),  # today: a ComplexWarning, imaginary part lost
    (np.ones(3, np.int64), np.ones(3, np.float32), False),
    (np.ones(3, bool), np.ones(3, np.float32), False),
    (np.array(["a", "b", "c"]), np.ones(3, np.float32), False),
    (np.ones(3, np.int32), np.ones(3, np.int64), True),
    (np.ones(3, np.float32), np.ones(3, np.int64), False),
    (np.ones(3, np.float32), np.ones(3, np.complex64), True),
])
def test_check_state_value_dtype_rule(value, like, ok):
    if ok:
        assert check_state_value("fc.weight", value, like) is value
    else:
        with pytest.raises(CheckpointError, match=rf"load_state_dict: 'fc.weight' must be .* \(the parameter is "
                                                  rf"{like.dtype}\), got dtype {value.dtype}"):
            check_state_value("fc.weight", value, like)
