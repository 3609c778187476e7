"""fit/evaluate: learning, exact resume, the NaN guard, history files, best-model keeping."""

import json
import os

import numpy as np
import pytest

import minidl
from minidl import nn, optim
from minidl.data.batching import BatchLoader
from minidl.train import History, TrainingDiverged, evaluate, fit


def _data(n=96, d=6, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, d)).astype(np.float32)
    y = (x[:, 0] + 0.5 * x[:, 1] > 0).astype(np.int64)
    return x, y


def _model():
    return nn.Sequential(nn.Linear(6, 8), nn.ReLU(), nn.Dropout(0.3), nn.Linear(8, 2))


def _run(tmp, epochs, resume=False, seed=0):
    minidl.manual_seed(seed)
    x, y = _data()
    model = _model()
    opt = optim.Adam(model.parameters(), lr=0.02)
    train = BatchLoader(x, y, batch_size=16, shuffle=True, seed=seed)
    test = BatchLoader(x, y, batch_size=32, shuffle=False)
    hist = fit(model, nn.CrossEntropyLoss(), opt, train, test, epochs=epochs, checkpoint_dir=tmp,
               resume=resume, log=None, clip_grad=5.0)
    return model, hist


def test_fit_learns_and_writes_files(tmp_path):
    model, hist = _run(tmp_path, epochs=6)
    assert len(hist) == 6
    assert hist["test_acc"][-1] > 0.9 and hist["train_loss"][-1] < hist["train_loss"][0]
    for f in ("last.npz", "best.npz", "history.json", "history.csv"):
        assert (tmp_path / f).stat().st_size > 0
    rows = json.loads((tmp_path / "history.json").read_text())
    assert [r["epoch"] for r in rows] == list(range(1, 7))
    best = minidl.load(tmp_path / "best.npz")
    assert best["acc"] == pytest.approx(max(hist["test_acc"]))
    assert (tmp_path / "history.csv").read_text().splitlines()[0].startswith("epoch,train_loss,train_acc")


def test_resume_equals_uninterrupted_training(tmp_path):
    """3 epochs straight == 2 epochs, a fresh process-like restart, then resume to 3."""
    full, hist_full = _run(tmp_path / "a", epochs=3)
    _run(tmp_path / "b", epochs=2)
    minidl.manual_seed(123)  # a different seed in the "new process": resume must restore RNG
    resumed, hist_res = _run(tmp_path / "b", epochs=3, resume=True, seed=0)
    for (n, p), (_, q) in zip(full.named_parameters(), resumed.named_parameters()):
        np.testing.assert_array_equal(p.data, q.data, err_msg=n)
    assert hist_full["train_loss"] == hist_res["train_loss"]


def test_nan_guard_names_the_step():
    x, y = _data()
    x[40] = np.nan  # reaches the loss in the third batch of 16
    model = _model()
    loader = BatchLoader(x, y, batch_size=16, shuffle=False)
    with pytest.raises(TrainingDiverged, match="epoch 1, step 3"):
        fit(model, nn.CrossEntropyLoss(), optim.SGD(model.parameters(), lr=0.1), loader, epochs=1, log=None)


def test_evaluate_keeps_no_cache_and_restores_mode():
    x, y = _data()
    model = _model()
    ev = evaluate(model, nn.CrossEntropyLoss(), BatchLoader(x, y, batch_size=40, shuffle=False))
    assert ev["y_true"].shape == (96,) and 0 <= ev["acc"] <= 1
    assert model.training and all(not m._caches for m in model.modules())


def test_history_roundtrip(tmp_path):
    h = History()
    h.append(epoch=1, test_acc=0.5)
    h.append(epoch=2, test_acc=0.7)
    assert h.best()["epoch"] == 2
    h.save(tmp_path / "h.json")
    assert History.from_json((tmp_path / "h.json").read_text()).rows == h.rows
    assert not [f for f in os.listdir(tmp_path) if f.startswith(".tmp")]
