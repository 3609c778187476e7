"""The four losses: finite differences of the input, PyTorch parity (upstream included),
the clamp of BCE, and report B's NLL-on-raw-scores runaway."""

import numpy as np
import pytest
from helpers import check_layer, torch
from hypothesis import given
from hypothesis import strategies as st

import minidl
from minidl import nn, optim

LOSSES = {"ce": nn.CrossEntropyLoss, "nll": nn.NLLLoss, "bce": nn.BCELoss, "bcel": nn.BCEWithLogitsLoss}
TWINS = {"ce": "CrossEntropyLoss", "nll": "NLLLoss", "bce": "BCELoss", "bcel": "BCEWithLogitsLoss"}


def _loss_inputs(kind, n, c, rng):
    if kind in ("ce", "nll"):
        x = rng.standard_normal((n, c))
        if kind == "nll":
            x = x - np.log(np.exp(x).sum(1, keepdims=True))
        return x, rng.integers(0, c, n)
    if kind == "bce":
        return rng.uniform(0.05, 0.95, (n, c)), rng.integers(0, 2, (n, c)).astype(float)
    return 3 * rng.standard_normal((n, c)), rng.uniform(0, 1, (n, c))


@pytest.mark.parametrize("kind", sorted(LOSSES))
@pytest.mark.parametrize("reduction", ["mean", "sum"])
@given(n=st.integers(1, 3), c=st.integers(2, 4))
def test_loss(kind, reduction, n, c):
    x, t = _loss_inputs(kind, n, c, np.random.default_rng(n * 7 + c))
    twin = None if torch is None else (lambda: getattr(torch.nn, TWINS[kind])(reduction=reduction))
    check_layer(lambda: LOSSES[kind](reduction=reduction), (x, t), check_inputs=[0], torch_layer=twin)


def test_loss_returns_device_scalar_and_upstream_scales(device, to_dev):
    crit = nn.CrossEntropyLoss()
    z, t = to_dev(np.array([[1.0, 2.0, 0.5]])), to_dev(np.array([1]))
    loss = crit(z, t)
    assert loss.shape == () and minidl.backend.device_of(loss) == device
    g1 = minidl.asnumpy(crit.backward())
    crit(z, t)
    g3 = minidl.asnumpy(crit.backward(3.0))
    np.testing.assert_allclose(g3, 3 * g1)
    assert isinstance(float(loss), float)


def test_bce_clamps_log_at_minus_100():
    loss = nn.BCELoss()(np.array([0.0, 1.0]), np.array([1.0, 0.0]))
    assert float(loss) == pytest.approx(100.0)


def test_bce_at_the_clamp_matches_pytorch():
    if torch is None:
        pytest.skip("torch is the reference here")
    p = np.array([0.0, 1.0, 0.5])
    t = np.array([1.0, 0.0, 1.0])
    pt = torch.tensor(p, requires_grad=True)
    lt = torch.nn.BCELoss()(pt, torch.tensor(t))
    lt.backward()
    crit = nn.BCELoss()
    np.testing.assert_allclose(float(crit(p, t)), lt.item(), rtol=1e-12)
    # at the clamp the gradient is huge but finite, and the same as PyTorch's
    g = minidl.asnumpy(crit.backward())
    assert np.all(np.isfinite(g))
    np.testing.assert_allclose(g, pt.grad.numpy(), rtol=1e-8)  # eps 1e-12 rounds differently


def test_sum_over_an_empty_batch_is_zero():
    assert float(nn.CrossEntropyLoss(reduction="sum")(np.zeros((0, 3)), np.zeros(0, np.int64))) == 0.0
    assert float(nn.BCELoss(reduction="sum")(np.zeros(0), np.zeros(0))) == 0.0


# ---------------------------------------------------------------- report B §4.2
def _train_scores(criterion, steps=300, seed=0):
    """A tiny classifier trained with Adam; returns the loss curve."""
    minidl.manual_seed(seed)
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((64, 5)).astype(np.float32)
    y = (x[:, 0] > 0).astype(np.int64)
    model = nn.Linear(5, 2)
    opt = optim.Adam(model.parameters(), lr=1e-2)
    losses = []
    for _ in range(steps):
        opt.zero_grad()
        scores = model(x)  # raw scores, no log-softmax
        losses.append(float(criterion(scores, y)))
        model.backward(criterion.backward())
        opt.step()
    return losses


def test_nll_on_raw_scores_runs_away_while_cross_entropy_trains():
    nll = _train_scores(nn.NLLLoss())
    ce = _train_scores(nn.CrossEntropyLoss())
    # NLL on raw scores is −z_target: unbounded below, it falls without end ...
    # (Adam moves each weight ~lr per step, so the loss falls roughly linearly, never levelling)
    half = len(nll) // 2
    assert nll[-1] < -5 and nll[-1] < nll[half] - 2 < nll[0] - 2
    # ... while cross-entropy, bounded below by 0, converges on this separable task.
    assert 0 <= ce[-1] < 0.2 < ce[0]
