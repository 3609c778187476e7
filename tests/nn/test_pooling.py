"""Pooling layers: float64 finite differences, PyTorch parity, the functional contract; NumPy and
strict double. (Errors: tests/nn/test_conv_errors.py.)"""

import numpy as np
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from minidl import backend, nn
from minidl.functional import pool as pool_pairs
from minidl.functional.geometry import conv_output_size
from minidl.gradcheck import gradcheck


def _x(shape, seed=0):
    return np.random.default_rng(seed).standard_normal(shape)


windows = dict(
    n=st.integers(1, 2), c=st.integers(1, 2), h=st.integers(2, 5), w=st.integers(2, 5),
    k=st.sampled_from([1, 2, 3, (2, 3)]), stride=st.sampled_from([None, 1, 2]), padding=st.integers(0, 1),
)


def _valid(h, w, k, stride, padding, dilation=1):
    kh, kw = (k, k) if isinstance(k, int) else k
    if padding > min(kh, kw) // 2:
        return False
    Ho, Wo = conv_output_size((h, w), k, k if stride is None else stride, padding, dilation)
    return Ho >= 1 and Wo >= 1


@given(dilation=st.sampled_from([1, 2]), **windows)
def test_max_pool_gradcheck(device, to_dev, n, c, h, w, k, stride, padding, dilation):
    assume(_valid(h, w, k, stride, padding, dilation))
    r = gradcheck(nn.MaxPool2d(k, stride, padding, dilation), to_dev(_x((n, c, h, w))))  # no ties: continuous draws
    assert r.ok, str(r)


@given(count_include_pad=st.booleans(), **windows)
def test_avg_pool_gradcheck(device, to_dev, n, c, h, w, k, stride, padding, count_include_pad):
    assume(_valid(h, w, k, stride, padding))
    r = gradcheck(nn.AvgPool2d(k, stride, padding, count_include_pad=count_include_pad), to_dev(_x((n, c, h, w))))
    assert r.ok, str(r)


@pytest.mark.parametrize("size", [1, (2, 3), (3, 2)])
def test_adaptive_avg_pool_gradcheck(device, to_dev, size):
    r = gradcheck(nn.AdaptiveAvgPool2d(size), to_dev(_x((2, 2, 5, 4))))
    assert r.ok, str(r)


def test_max_pool_routes_gradient_to_the_first_maximum_on_ties(device, to_dev):
    x = np.zeros((1, 1, 2, 2))
    m = nn.MaxPool2d(2)
    y = m(to_dev(x))
    assert float(backend.asnumpy(y).ravel()[0]) == 0.0
    dx = backend.asnumpy(m.backward(to_dev(np.ones((1, 1, 1, 1)))))
    np.testing.assert_array_equal(dx[0, 0], [[1, 0], [0, 0]])  # as PyTorch: the first in the window


@pytest.mark.parametrize("layer,args", [
    ("MaxPool2d", (2,)), ("MaxPool2d", (3, 2, 1)), ("MaxPool2d", ((2, 3), (1, 2), (1, 1), 2)),
    ("AvgPool2d", (2,)), ("AvgPool2d", (3, 2, 1)), ("AvgPool2d", (3, 1, 1, False, False)),
    ("AdaptiveAvgPool2d", (1,)), ("AdaptiveAvgPool2d", ((3, 4),)),
])
def test_pooling_matches_pytorch(device, to_dev, layer, args):
    torch = pytest.importorskip("torch")
    tm, m = getattr(torch.nn, layer)(*args), getattr(nn, layer)(*args)
    x = _x((2, 3, 7, 6))
    tx = torch.tensor(x, requires_grad=True)
    ty = tm(tx)
    y = m(to_dev(x))
    np.testing.assert_allclose(backend.asnumpy(y), ty.detach().numpy(), rtol=1e-12, atol=1e-12)
    dy = _x(tuple(ty.shape), 1)
    ty.backward(torch.tensor(dy))
    np.testing.assert_allclose(backend.asnumpy(m.backward(to_dev(dy))), tx.grad.numpy(), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("name,args,kwargs", [
    ("max_pool2d", (3,), dict(stride=2, padding=1, dilation=1)),
    ("avg_pool2d", (3,), dict(stride=2, padding=1, count_include_pad=False)),
    ("adaptive_avg_pool2d", ((2, 3),), {}),
])
def test_pool_pairs_follow_the_contract(name, args, kwargs):
    """``y, cache = *_forward(x, ...)`` with a NamedTuple cache that knows the output shape;
    ``*_backward(dy, cache)`` returns ``{"x": dx}``, equal to what the module returns."""
    x, dy_seed = _x((2, 3, 7, 6)), 1
    y, cache = getattr(pool_pairs, f"{name}_forward")(x, *args, **kwargs)
    assert hasattr(cache, "_fields") and cache.output_shape == y.shape
    dy = _x(y.shape, dy_seed)
    grads = getattr(pool_pairs, f"{name}_backward")(dy, cache)
    assert set(grads) == {"x"} and grads["x"].shape == x.shape
    layer = {"max_pool2d": nn.MaxPool2d(3, 2, 1), "avg_pool2d": nn.AvgPool2d(3, 2, 1, count_include_pad=False),
             "adaptive_avg_pool2d": nn.AdaptiveAvgPool2d((2, 3))}[name]
    np.testing.assert_array_equal(layer(x), y)
    np.testing.assert_array_equal(layer.backward(dy), grads["x"])
