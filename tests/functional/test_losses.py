"""The loss pairs: ``loss, cache = f(x, target, reduction=...)``, ``grads = b(dloss, cache)``."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from minidl.functional import losses
from minidl.gradcheck import gradcheck_pair

PAIRS = {
    "bce": (losses.bce_forward, losses.bce_backward),
    "bce_with_logits": (losses.bce_with_logits_forward, losses.bce_with_logits_backward),
    "cross_entropy": (losses.cross_entropy_forward, losses.cross_entropy_backward),
    "nll": (losses.nll_forward, losses.nll_backward),
}


def loss_arrays(name, n, c, rng):
    if name in ("cross_entropy", "nll"):
        x = rng.standard_normal((n, c))
        if name == "nll":
            x = x - np.log(np.exp(x).sum(1, keepdims=True))
        return {"x": x, "target": rng.integers(0, c, n)}
    if name == "bce":
        return {"x": rng.uniform(0.05, 0.95, (n, c)), "target": rng.integers(0, 2, (n, c)).astype(float)}
    return {"x": 3 * rng.standard_normal((n, c)), "target": rng.uniform(0, 1, (n, c))}


@pytest.mark.parametrize("name", sorted(PAIRS))
@pytest.mark.parametrize("reduction", ["mean", "sum"])
@given(n=st.integers(1, 3), c=st.integers(2, 4))
def test_pair_gradcheck(device, to_dev, name, reduction, n, c):
    arrays = {k: to_dev(v) for k, v in loss_arrays(name, n, c, np.random.default_rng(n * 7 + c)).items()}
    forward, backward = PAIRS[name]
    r = gradcheck_pair(forward, backward, arrays, {"reduction": reduction}, wrt=["x"])
    assert r.ok, str(r)


@pytest.mark.parametrize("name", sorted(PAIRS))
def test_upstream_scales_the_gradient_and_target_gets_none(name):
    arrays = loss_arrays(name, 3, 4, np.random.default_rng(0))
    forward, backward = PAIRS[name]
    loss, cache = forward(**arrays)
    assert np.shape(loss) == ()
    g1 = backward(1.0, cache)
    loss, cache = forward(**arrays)
    g3 = backward(np.float64(-3.0), cache)
    assert set(g1) == {"x"}
    np.testing.assert_allclose(g3["x"], -3 * g1["x"])


def test_bce_clamps_each_log_at_minus_100_without_warnings():
    with np.errstate(all="raise"):
        loss, cache = losses.bce_forward(np.array([0.0, 1.0]), np.array([1.0, 0.0]))
        g = losses.bce_backward(1.0, cache)["x"]
    assert float(loss) == pytest.approx(100.0) and np.all(np.isfinite(g))


def test_reduction_scale():
    assert losses.reduction_scale("mean", 4) == 0.25 and losses.reduction_scale("sum", 4) == 1.0
    with pytest.raises(ValueError, match="reduction"):
        losses.reduction_scale("none", 4)
