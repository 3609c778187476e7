"""Atomic checkpoints: save/load round trips, failures leave the old file, no pickle.
(The optimizers' tests: tests/test_optim.py.)"""

import os

import numpy as np
import pytest

import minidl
from minidl import nn


def test_save_load_roundtrip_nested(tmp_path):
    m = nn.Linear(3, 2)
    state = {"model": m.state_dict(), "epoch": 4, "name": "lstm", "hist": {"loss": np.arange(3.0)}}
    path = minidl.save(state, tmp_path / "a.npz")
    back = minidl.load(path)
    assert back["epoch"] == 4 and back["name"] == "lstm"
    np.testing.assert_array_equal(back["model"]["weight"], m.weight.data)
    np.testing.assert_array_equal(back["hist"]["loss"], np.arange(3.0))
    assert not [f for f in os.listdir(tmp_path) if f.startswith(".tmp")]


def test_save_is_atomic_on_failure(tmp_path):
    path = minidl.save({"a": np.ones(3)}, tmp_path / "ck.npz")
    with pytest.raises(TypeError):
        minidl.save({"a": np.zeros(3), "bad": object()}, path)
    np.testing.assert_array_equal(minidl.load(path)["a"], np.ones(3))  # old file intact
    assert sorted(os.listdir(tmp_path)) == ["ck.npz"]


def test_load_refuses_pickled_objects(tmp_path):
    path = tmp_path / "evil.npz"
    np.savez(path, obj=np.array([{"x": 1}], dtype=object))
    with pytest.raises(ValueError, match="allow_pickle"):
        minidl.load(path)
