"""`examples/imdb_lstm.py --limit 200 --epochs 1` end to end on a synthetic aclImdb folder."""

import importlib.util
import os

import numpy as np
import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

POS = ["great", "wonderful", "loved", "excellent", "moving", "superb"]
NEG = ["awful", "boring", "hated", "terrible", "dull", "worst"]
FILLER = ["the", "movie", "plot", "actor", "scene", "film", "story", "and", "a", "was"]


def make_aclimdb(root, n_per_class=120, seed=0):
    """A tiny aclImdb/ layout whose sentiment words make the labels learnable."""
    rng = np.random.default_rng(seed)
    for split in ("train", "test"):
        for label, words, ratings in (("pos", POS, (7, 10)), ("neg", NEG, (1, 4))):
            folder = os.path.join(root, "aclImdb", split, label)
            os.makedirs(folder)
            for i in range(n_per_class):
                n = int(rng.integers(5, 40))
                toks = list(rng.choice(FILLER, n)) + list(rng.choice(words, 3))
                rng.shuffle(toks)
                text = " ".join(toks[: n // 2]) + ". <br /><br />" + " ".join(toks[n // 2:]) + "!"
                rating = int(rng.integers(ratings[0], ratings[1] + 1))
                with open(os.path.join(folder, f"{i}_{rating}.txt"), "w") as f:
                    f.write(text)
    return os.path.join(root, "aclImdb")


def _load_example():
    spec = importlib.util.spec_from_file_location("imdb_lstm", os.path.join(ROOT, "examples", "imdb_lstm.py"))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


@pytest.mark.parametrize("extra", [["--epochs", "1"], ["--epochs", "2", "--cell", "gru", "--loss", "bce"]])
def test_imdb_example_runs_on_synthetic_data(tmp_path, monkeypatch, extra):
    monkeypatch.setenv("MINIDL_CACHE", str(tmp_path / "cache"))
    data = make_aclimdb(tmp_path / "data")
    out = tmp_path / "run"
    res = _load_example().main(["--data", data, "--limit", "200", "--out", str(out), "--progress", "off"] + extra)
    assert 0.0 <= res["best_acc"] <= 1.0 and len(res["history"]) == int(extra[1])
    for f in ("history.json", "history.csv", "curves.png", "confusion.png", "best.npz", "last.npz"):
        assert (out / f).stat().st_size > 0, f


def test_imdb_example_learns_the_synthetic_task(tmp_path, monkeypatch):
    monkeypatch.setenv("MINIDL_CACHE", str(tmp_path / "cache"))
    data = make_aclimdb(tmp_path / "data")
    res = _load_example().main(["--data", data, "--out", str(tmp_path / "run"), "--progress", "off",
                                "--epochs", "10", "--lr", "0.01", "--vocab-size", "64"])
    assert res["best_acc"] > 0.9  # sentiment words decide the label: an LSTM must find them
