"""The four losses: finite differences of the input, PyTorch parity (upstream included),
the clamp of BCE, and report B's NLL-on-raw-scores runaway."""

import numpy as np
import pytest
from bad_inputs import Case, bad_input_test, f64
from fuzzing import (
    FLOATS,
    close,
    draw_array,
    draw_shape,
    finite,
    fuzz_test,
    host,
    maybe_list,
    mostly,
    on_device,
)
from helpers import check_layer, torch
from hypothesis import given
from hypothesis import strategies as st

import minidl
from minidl import nn, optim
from minidl.errors import DTypeError, IndexRangeError, RangeError, ShapeError

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


# ---------------------------------------------- bad input and fuzzing (tests/bad_inputs.py, tests/fuzzing.py)
CLASS_LOSSES = [("CrossEntropyLoss", nn.CrossEntropyLoss), ("NLLLoss", nn.NLLLoss)]
BINARY_LOSSES = [("BCELoss", nn.BCELoss), ("BCEWithLogitsLoss", nn.BCEWithLogitsLoss)]
ALL_LOSSES = CLASS_LOSSES + BINARY_LOSSES


def _loss_backward(cls, upstream):
    def call():
        crit = cls()
        if cls in (nn.CrossEntropyLoss, nn.NLLLoss):
            crit(np.zeros((2, 3)), np.array([0, 1]))
        else:
            crit(np.full((2, 1), 0.5), np.ones((2, 1)))
        return crit.backward(upstream)

    return call


BAD_INPUTS = [
    *[Case(f"nn.{name}", "an unknown reduction", lambda cls=cls: cls(reduction="none"), RangeError,
           rf"{name}: reduction must be one of \('mean', 'sum'\), got 'none'") for name, cls in ALL_LOSSES],
    *[Case(f"nn.{name}", "a list as input", lambda cls=cls: cls()([[0.5]], np.ones((1, 1))), DTypeError,
           rf"{name}: input must be an array .*got list") for name, cls in ALL_LOSSES],
    *[Case(f"nn.{name}", "an integer input", lambda cls=cls: cls()(np.ones((2, 3), int), np.array([0, 1])),
           DTypeError, rf"{name}: input must be a floating array, got dtype int64") for name, cls in CLASS_LOSSES],
    *[Case(f"nn.{name}", "mean over an empty batch", lambda cls=cls: cls()(np.zeros((0, 3)), np.zeros(0, int)),
           ShapeError, rf"{name}: input must have at least one element to average \(reduction='mean'\), "
           r"got shape \(0, 3\)") for name, cls in CLASS_LOSSES],
    *[Case(f"nn.{name}", "input not (N, C)", lambda cls=cls: cls()(f64(3), np.array([0, 1, 2])), ShapeError,
           rf"{name}: input must have shape \(N, C\) with C ≥ 1 classes, got \(3,\)") for name, cls in CLASS_LOSSES],
    *[Case(f"nn.{name}", "floating class targets", lambda cls=cls: cls()(f64(2, 3), np.array([0.0, 1.0])),
           DTypeError, rf"{name}: target must be integer class indices, got dtype float64")
      for name, cls in CLASS_LOSSES],
    *[Case(f"nn.{name}", "targets of the wrong shape", lambda cls=cls: cls()(f64(2, 3), np.array([[0, 1]])),
           ShapeError, rf"{name}: target must have shape \(2,\), got \(1, 2\)") for name, cls in CLASS_LOSSES],
    *[Case(f"nn.{name}", f"class target {bad}", lambda cls=cls, bad=bad: cls()(f64(2, 3), np.array([0, bad])),
           IndexRangeError, rf"{name}: target must hold class indices in \[0, 3\), got class target {bad}")
      for name, cls in CLASS_LOSSES for bad in (-1, 3)],
    *[Case(f"nn.{name}", "a NaN target", lambda cls=cls: cls()(np.array([0.5, 0.5]), np.array([np.nan, 0.0])),
           RangeError, rf"{name}: target must lie in \[0, 1\], got nan") for name, cls in BINARY_LOSSES],
    *[Case(f"nn.{name}", "a target above 1", lambda cls=cls: cls()(np.array([0.5]), np.array([2.0])),
           RangeError, rf"{name}: target must lie in \[0, 1\], got 2.0") for name, cls in BINARY_LOSSES],
    *[Case(f"nn.{name}", "a target of another shape", lambda cls=cls: cls()(f64(2, 1), f64(2)), ShapeError,
           rf"{name}: target must have shape \(2, 1\), got \(2,\)") for name, cls in BINARY_LOSSES],
    *[Case(f"nn.{name}", "a string target", lambda cls=cls: cls()(f64(1), np.array(["1"])), DTypeError,
           rf"{name}: target must be a real array, got dtype <U1") for name, cls in BINARY_LOSSES],
    *[Case(f"nn.{name}", "a non-scalar upstream gradient", _loss_backward(cls, f64(2)), ShapeError,
           rf"{name}\.backward: upstream must be a scalar \(the loss is 0-d\), got shape \(2,\)")
      for name, cls in ALL_LOSSES],
    *[Case(f"nn.{name}", "a NaN upstream gradient", _loss_backward(cls, float("nan")), RangeError,
           rf"{name}\.backward: upstream must be a finite number .*got nan") for name, cls in ALL_LOSSES],
    Case("nn.BCELoss", "a probability above 1", lambda: nn.BCELoss()(np.array([1.5, 0.5]), np.array([1.0, 0.0])),
         RangeError,
         r"BCELoss: input \(probabilities; use BCEWithLogitsLoss on logits\) must lie in \[0, 1\], got 1.5"),
    Case("nn.BCELoss", "a NaN input (it passes a range test)",
         lambda: nn.BCELoss()(np.array([np.nan, 0.5]), np.array([1.0, 0.0])), RangeError,
         r"BCELoss: input .*must lie in \[0, 1\], got nan"),
]
test_bad_input = bad_input_test(BAD_INPUTS)


def _class_loss_reference(name, x, t, reduction):
    with np.errstate(all="ignore"):
        a = x - (np.log(np.exp(x - x.max(1, keepdims=True)).sum(1, keepdims=True)) + x.max(1, keepdims=True)) \
            if name == "CrossEntropyLoss" else x
        per = -a[np.arange(len(t)), t]
    return per.mean() if reduction == "mean" else per.sum()


def fuzz_class_loss(name, data):
    n, c = data.draw(mostly([1, 2, 3], [0]), label="N"), data.draw(mostly([1, 2, 3], [0]), label="C")
    x = draw_array(data, shape=data.draw(mostly([(n, c)], [(n,), (n, c, 2)])), dtypes=FLOATS * 3 + [np.int64])
    t = draw_array(data, shape=data.draw(mostly([(n,)], [(n, 1)])), dtypes=[np.int64] * 3 + [np.float64],
                   scale=float(c), specials=False)
    if t.dtype.kind == "i" and c and data.draw(st.integers(0, 3)):  # mostly labels in range
        t = np.abs(t) % c
    if name == "NLLLoss" and x.ndim == 2 and x.shape[1] and data.draw(st.booleans()):  # log-probabilities
        x = x - np.log(np.exp(x).sum(1, keepdims=True)).astype(x.dtype)
    reduction = data.draw(mostly(["mean", "sum"], ["none"]))
    crit = getattr(nn, name)(reduction=reduction)
    _, (xd, td) = on_device(data, x, t)
    loss = host(crit(maybe_list(data, xd), maybe_list(data, td)))
    close(loss, _class_loss_reference(name, x.astype(np.float64), t, reduction), x.dtype)
    g = host(crit.backward(data.draw(st.sampled_from([1.0, 0.5]))))
    assert g.shape == x.shape
    if finite(x):
        assert np.isfinite(loss) and np.isfinite(g).all()


def fuzz_binary_loss(name, data):
    shape = draw_shape(data)
    x = draw_array(data, shape=shape, dtypes=FLOATS * 3 + [np.int64], scale=0.5)
    if name == "BCELoss" and data.draw(st.integers(0, 3)):  # mostly probabilities
        x = np.clip(np.abs(x), 0, 1)
    t = draw_array(data, shape=data.draw(mostly([shape], [shape[:-1]])), dtypes=[np.float64] * 3 + [np.int64],
                   scale=0.5)
    if data.draw(st.integers(0, 3)):  # mostly targets in [0, 1]
        t = np.clip(np.abs(t), 0, 1)
    reduction = data.draw(st.sampled_from(["mean", "sum"]))
    crit = getattr(nn, name)(reduction=reduction)
    _, (xd, td) = on_device(data, x, t)
    loss = float(host(crit(maybe_list(data, xd), maybe_list(data, td))))
    x64, t64 = x.astype(np.float64), t.astype(np.float64)
    with np.errstate(all="ignore"):
        if name == "BCELoss":
            per = -(t64 * np.maximum(np.log(x64), -100) + (1 - t64) * np.maximum(np.log(1 - x64), -100))
        else:
            per = np.maximum(x64, 0) - x64 * t64 + np.log1p(np.exp(-np.abs(x64)))
    close(loss, per.mean() if reduction == "mean" else per.sum(), x.dtype)
    g = host(crit.backward())
    assert g.shape == x.shape
    if finite(x):
        assert np.isfinite(loss) and np.isfinite(g).all()


FUZZ = {**{f"nn.{n}": (lambda data, n=n: fuzz_class_loss(n, data)) for n in ["CrossEntropyLoss", "NLLLoss"]},
        **{f"nn.{n}": (lambda data, n=n: fuzz_binary_loss(n, data)) for n in ["BCELoss", "BCEWithLogitsLoss"]}}
test_fuzz = fuzz_test(FUZZ)
