"""Every model of minidl.models meets fit's contract: ``scores = model(x[, lengths=])``,
``model.backward(d_scores)``, scores (B, C). Each goes through fit for real at toy size;
a model added to minidl.models without an entry here fails the first test."""

import numpy as np
import pytest

import minidl
from minidl import models, nn, optim
from minidl.data.batching import BatchLoader
from minidl.train import fit


def _names_task(n=60, T=5, seed=0):
    """Letter ids (n, T) with lengths 2..T; the class is the first letter mod 3."""
    rng = np.random.default_rng(seed)
    lengths = rng.integers(2, T + 1, n)
    ids = rng.integers(0, 6, (n, T))
    ids[np.arange(T)[None, :] >= lengths[:, None]] = 0
    return ids, ids[:, 0] % 3, lengths


def _reviews(n=24, T=6, seed=0):
    rng = np.random.default_rng(seed)
    lengths = rng.integers(1, T + 1, n)
    ids = rng.integers(1, 7, (n, T))
    ids[np.arange(T)[None, :] >= lengths[:, None]] = 0
    return ids, rng.integers(0, 2, n), lengths


def _images(n=8, seed=0):
    rng = np.random.default_rng(seed)
    return rng.standard_normal((n, 3, 8, 8)).astype(np.float32), rng.integers(0, 10, n), None


CASES = {
    "ImdbClassifier": (lambda: models.ImdbClassifier(7, 3, 4, fc_dim=4), _reviews, nn.CrossEntropyLoss),
    "ImdbClassifier-bce": (lambda: models.ImdbClassifier(7, 3, 4, num_classes=1, output="sigmoid"), _reviews,
                           nn.BCELoss),
    "CharRNN": (lambda: models.CharRNN(6, 8, 3), _names_task, nn.NLLLoss),
    "CharLSTM": (lambda: models.CharLSTM(6, 8, 3), _names_task, nn.NLLLoss),
    "CharLSTM-cells": (lambda: models.CharLSTM(6, 8, 3, step_by_step=True), _names_task, nn.NLLLoss),
    "ResNet": (lambda: models.ResNet([1], [4]), _images, nn.CrossEntropyLoss),
    "resnet20": (models.resnet20, _images, nn.CrossEntropyLoss),
    "plain20": (models.plain20, _images, nn.CrossEntropyLoss),
    "resnet34": (None, None, None),  # same class as resnet20 at 21 M parameters: too big to train here
    "plain34": (None, None, None),
}


def test_every_model_has_a_contract_case():
    covered = {name.split("-")[0] for name in CASES}
    assert covered == set(models.__all__)


@pytest.mark.parametrize("name", [n for n, c in CASES.items() if c[0] is not None])
def test_fit_trains_every_model(name, tmp_path):
    make_model, make_data, loss = CASES[name]
    minidl.manual_seed(0)
    x, y, lengths = make_data()
    loader = BatchLoader(x, y, lengths, batch_size=4, seed=0)
    model = make_model()
    before = {n: p.data.copy() for n, p in model.named_parameters()}
    hist = fit(model, loss(), optim.Adam(model.parameters(), lr=1e-3), loader, loader, epochs=1, log=None,
               checkpoint_dir=tmp_path)
    row = hist.rows[0]
    assert np.isfinite(row["train_loss"]) and np.isfinite(row["test_loss"]) and 0 <= row["test_acc"] <= 1
    assert all(not np.array_equal(p.data, before[n]) for n, p in model.named_parameters()), "a parameter never moved"
    assert all(not m._caches for m in model.modules())  # every forward cache was popped


@pytest.mark.parametrize("name", ["CharRNN", "CharLSTM", "CharLSTM-cells"])
def test_report_c_models_learn_a_names_task(name):
    """The first letter decides the class: the state must carry it to the name's end."""
    make_model, make_data, loss = CASES[name]
    minidl.manual_seed(0)
    x, y, lengths = make_data(n=120)
    loader = BatchLoader(x, y, lengths, batch_size=8, seed=0)
    model = make_model()
    hist = fit(model, loss(), optim.Adam(model.parameters(), lr=0.03), loader, loader, epochs=8, log=None)
    assert hist["test_acc"][-1] > 0.9, hist["test_acc"]
