"""The activation pairs of minidl.functional.activations, checked bare (gradcheck_pair)."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from minidl.functional import activations as act
from minidl.gradcheck import gradcheck_pair

PAIRS = {
    "relu": (act.relu_forward, act.relu_backward, {}),
    "tanh": (act.tanh_forward, act.tanh_backward, {}),
    "sigmoid": (act.sigmoid_forward, act.sigmoid_backward, {}),
    "softmax": (act.softmax_forward, act.softmax_backward, {"axis": 1}),
    "log_softmax": (act.log_softmax_forward, act.log_softmax_backward, {"axis": -1}),
}


@pytest.mark.parametrize("name", sorted(PAIRS))
@given(shape=st.tuples(st.integers(1, 3), st.integers(1, 4)))
def test_pair_gradcheck(device, to_dev, name, shape):
    forward, backward, options = PAIRS[name]
    if "softmax" in name:  # over one entry a softmax is the constant 1 (log: 0): a zero gradient checks nothing
        shape = (shape[0], max(2, shape[1]))
    x = 2.0 * np.random.default_rng(sum(shape)).standard_normal(shape)
    if name == "relu":  # away from the kink, where a central difference straddles it
        x = np.where(np.abs(x) < 1e-3, 0.5, x)
        x.flat[0] = abs(x.flat[0])  # at least one unit passes gradient
    r = gradcheck_pair(forward, backward, {"x": to_dev(x)}, options)
    assert r.ok and set(r.errors) == {"x"}, str(r)


def test_cache_is_named_and_grads_keyed_by_argument():
    y, cache = act.tanh_forward(np.array([0.5]))
    assert cache.y is y and set(act.tanh_backward(np.ones(1), cache)) == {"x"}
    p, cache = act.softmax_forward(np.zeros((2, 3)), axis=0)
    assert cache.axis == 0 and np.allclose(p, 0.5)


def test_sigmoid_is_exact_in_both_tails():
    x = np.array([-800.0, -20.0, 0.0, 20.0, 800.0])
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        y = act.sigmoid(x)
    assert y[1] == pytest.approx(1 / (1 + np.exp(20.0)), rel=1e-15) and y[0] == 0.0 and y[-1] == 1.0


def test_logsumexp_does_not_overflow():
    x = np.array([[1000.0, 1000.0], [-1000.0, -1000.0]])
    np.testing.assert_allclose(act.logsumexp(x, keepdims=False), [1000 + np.log(2), -1000 + np.log(2)])


def test_inplace_relu_writes_over_its_input_and_keeps_the_backward(device, to_dev):
    """relu_inplace_forward gives relu_forward's y in x's own memory, and the same gradient
    from its cache (which holds y: y > 0 exactly where x > 0)."""
    from minidl import backend

    x = np.random.default_rng(3).standard_normal((4, 5))
    x[0, 0] = 0.0  # the kink: subgradient 0 either way
    dy = np.random.default_rng(4).standard_normal((4, 5))
    y_ref, cache_ref = act.relu_forward(to_dev(x))
    own = to_dev(x.copy())
    y, cache = act.relu_inplace_forward(own)
    assert y is own and cache.x is own
    np.testing.assert_array_equal(backend.asnumpy(y), backend.asnumpy(y_ref))
    np.testing.assert_array_equal(backend.asnumpy(act.relu_backward(to_dev(dy), cache)["x"]),
                                  backend.asnumpy(act.relu_backward(to_dev(dy), cache_ref)["x"]))


@pytest.mark.parametrize("workers", [1, 2, 3])
def test_relu_on_the_hosts_threads_gives_the_textbook_numbers(monkeypatch, workers):
    """With the batch split over threads (functional/host_threads.py: split_rows), y = max(x, 0)
    and dx = dy ⊙ [x > 0] bit for bit, out of place and in place, at zeros and negative zeros too."""
    from minidl.functional import host_threads

    monkeypatch.setattr(host_threads, "host_workers", lambda like: workers)
    monkeypatch.setattr(host_threads, "MIN_SHARE", 1)
    rng = np.random.default_rng(5)
    x = rng.standard_normal((7, 3, 4)).astype(np.float32)
    x[0, 0, :2], x[6, 2, 3] = (0.0, -0.0), -0.0
    dy = rng.standard_normal(x.shape).astype(np.float32)
    y, cache = act.relu_forward(x)
    np.testing.assert_array_equal(y, np.maximum(x, 0))
    assert y.dtype == x.dtype and cache.x is x
    np.testing.assert_array_equal(act.relu_backward(dy, cache)["x"], dy * (x > 0))
    own = x.copy()
    y_own, _ = act.relu_inplace_forward(own)
    assert y_own is own
    np.testing.assert_array_equal(own, np.maximum(x, 0))
