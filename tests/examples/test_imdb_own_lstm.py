"""examples/imdb_lstm.py --cell lstmcell (report B's own LSTM, nn.LSTMCell stepped in
Python) trains end to end and follows the fused LSTM's run from the same seed."""

import os

import pytest
from script_loader import load_script

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def load(*path):
    return load_script(path, path[-1][:-3])


def test_own_lstm_run_follows_the_fused_lstm(tmp_path, monkeypatch):
    monkeypatch.setenv("MINIDL_CACHE", str(tmp_path / "cache"))
    data = load("tests", "fake_imdb.py").make_aclimdb(tmp_path / "data", n_per_class=60)
    example = load("examples", "imdb_lstm.py")
    runs = {}
    for cell in ("lstm", "lstmcell"):
        runs[cell] = example.main(["--data", data, "--cell", cell, "--epochs", "2", "--vocab-size", "64",
                                   "--out", str(tmp_path / cell), "--progress", "off"])
    for a, b in zip(runs["lstm"]["history"], runs["lstmcell"]["history"]):
        # the same weights, batches and dropout masks; only float32 rounding differs
        assert b["train_loss"] == pytest.approx(a["train_loss"], rel=1e-4)
        assert b["test_loss"] == pytest.approx(a["test_loss"], rel=1e-4)
    assert (tmp_path / "lstmcell" / "summary.json").stat().st_size > 0
