"""Pooling layers: float64 finite differences, PyTorch parity, the functional contract; NumPy and
strict double. (Bad inputs and fuzzing:
``BAD_INPUTS`` and ``FUZZ`` below.)"""

import numpy as np
import pytest
from bad_inputs import Case, backward_after, bad_input_test, f32, zeros
from fuzzing import (
    draw_image,
    finite,
    fuzz_test,
    host,
    maybe_list,
    on_device,
    sliding_windows,
)
from hypothesis import assume, given
from hypothesis import strategies as st

from minidl import backend, nn
from minidl.errors import DTypeError, RangeError, ShapeError
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


# ---------------------------------------------- bad input and fuzzing (tests/bad_inputs.py, tests/fuzzing.py)
BAD_INPUTS = [
    Case("nn.MaxPool2d", "maxpool-kernel-0",
         lambda: nn.MaxPool2d(0),
         RangeError, r"MaxPool2d: kernel_size must be >= 1, got \(0, 0\)"),
    Case("nn.MaxPool2d", "maxpool-stride-0",
         lambda: nn.MaxPool2d(2, stride=0),
         RangeError, r"MaxPool2d: stride must be >= 1"),
    Case("nn.MaxPool2d", "maxpool-padding-neg",
         lambda: nn.MaxPool2d(2, padding=-1),
         RangeError, r"MaxPool2d: padding must be >= 0"),
    Case("nn.MaxPool2d", "maxpool-padding-half",
         lambda: nn.MaxPool2d(2, padding=2)(zeros(1, 1, 4, 4)),
         RangeError, "padding must be at most half the"),
    Case("nn.MaxPool2d", "maxpool-ceil", lambda: nn.MaxPool2d(2, ceil_mode=True), NotImplementedError, "ceil_mode"),
    Case("nn.MaxPool2d", "maxpool-3d",
         lambda: nn.MaxPool2d(2)(zeros(3, 4, 4)),
         ShapeError, r"MaxPool2d: input must have shape \(N, C, H, W\), got \(3, 4, 4\)"),
    Case("nn.MaxPool2d", "maxpool-int",
         lambda: nn.MaxPool2d(2)(zeros(1, 1, 4, 4, dtype=np.int64)),
         DTypeError, "MaxPool2d: input must be a floating array, got dtype int64"),
    Case("nn.MaxPool2d", "maxpool-list",
         lambda: nn.MaxPool2d(1)([[[[1.0]]]]),
         DTypeError, "MaxPool2d: input must be an array"),
    Case("nn.MaxPool2d", "maxpool-dy",
         backward_after(nn.MaxPool2d(2), zeros(1, 2, 4, 4), zeros(1, 2, 3, 2)),
         ShapeError, r"MaxPool2d.backward: dy must have the output's shape \(1, 2, 2, 2\)"),
    Case("nn.AvgPool2d", "avgpool-small", lambda: nn.AvgPool2d(3)(zeros(1, 1, 2, 2)), ShapeError, "smaller than the"),
    Case("nn.AvgPool2d", "avgpool-kernel",
         lambda: nn.AvgPool2d((2, 0)),
         RangeError, r"AvgPool2d: kernel_size must be >= 1"),
    Case("nn.AvgPool2d", "avgpool-dy",
         backward_after(nn.AvgPool2d(2), zeros(1, 2, 4, 4), zeros(1, 2, 2)),
         ShapeError, r"AvgPool2d.backward: dy must have the output's shape \(1, 2, 2, 2\), got \(1, 2, 2\)"),
    Case("nn.AdaptiveAvgPool2d", "adaptive-2d",
         lambda: nn.AdaptiveAvgPool2d(1)(zeros(2, 3)),
         ShapeError, r"AdaptiveAvgPool2d: input must have shape \(N, C, H, W\)"),
    Case("nn.AdaptiveAvgPool2d", "adaptive-size-pair",
         lambda: nn.AdaptiveAvgPool2d((1, 2, 3)),
         RangeError, "AdaptiveAvgPool2d: output_size must be an int or a pair of ints"),
    Case("nn.AdaptiveAvgPool2d", "adaptive-size-0",
         lambda: nn.AdaptiveAvgPool2d(0),
         RangeError, "AdaptiveAvgPool2d: output_size must be >= 1"),
    Case("nn.AdaptiveAvgPool2d", "adaptive-dy",
         backward_after(nn.AdaptiveAvgPool2d(1), zeros(2, 3, 4, 4), zeros(2, 3)),
         ShapeError, r"AdaptiveAvgPool2d.backward: dy must have the output's shape \(2, 3, 1, 1\)"),
    Case("nn.AdaptiveAvgPool2d", "adaptive-dy-int",
         backward_after(nn.AdaptiveAvgPool2d(1), zeros(2, 3, 4, 4), zeros(2, 3, 1, 1, dtype=int)),
         DTypeError, "dy must be a floating array"),
    Case("nn.MaxPool2d", "an image with no pixel (every window would be padding: −inf)",
         lambda: nn.MaxPool2d(2, padding=1)(f32(1, 2, 1, 0)), ShapeError,
         r"MaxPool2d: input must have H, W >= 1, got \(1, 2, 1, 0\)"),
    Case("nn.AvgPool2d", "an image with no pixel (every window would be padding)",
         lambda: nn.AvgPool2d(2, padding=1)(f32(1, 2, 0, 3)), ShapeError,
         r"AvgPool2d: input must have H, W >= 1, got \(1, 2, 0, 3\)"),
    Case("nn.AdaptiveAvgPool2d", "an image with no pixel (the mean would be 0/0)",
         lambda: nn.AdaptiveAvgPool2d(1)(f32(1, 2, 1, 0)), ShapeError,
         r"AdaptiveAvgPool2d: input must have H, W >= 1, got \(1, 2, 1, 0\)"),
]
test_bad_input = bad_input_test(BAD_INPUTS)


def fuzz_pool(kind, data):
    k = data.draw(st.integers(1, 3), label="k")
    stride = data.draw(st.sampled_from([None, 1, 2]), label="stride")
    pad = data.draw(st.integers(0, 1), label="padding")
    layer = nn.MaxPool2d(k, stride, pad) if kind == "MaxPool2d" else nn.AvgPool2d(k, stride, pad)
    x = draw_image(data, 2)
    device, (xd,) = on_device(data, x)
    y = host(layer(maybe_list(data, xd)))
    s = (k, k) if stride is None else (stride, stride)
    fill = -np.inf if kind == "MaxPool2d" else 0.0
    padded = np.pad(x.astype(np.float64), ((0, 0), (0, 0), (pad, pad), (pad, pad)), constant_values=fill)
    win = sliding_windows(padded, (k, k), s)
    want = win.max(axis=(-2, -1)) if kind == "MaxPool2d" else win.mean(axis=(-2, -1))
    np.testing.assert_allclose(y, want, rtol=1e-5, atol=1e-6)
    dx = host(layer.backward(backend.to_device(np.ones(y.shape, y.dtype), device)))
    assert dx.shape == x.shape
    if finite(x):
        assert finite(y) and finite(dx)


def fuzz_adaptive_pool(data):
    out = data.draw(st.integers(1, 3), label="output_size")
    layer = nn.AdaptiveAvgPool2d(out)
    x = draw_image(data, 2)
    y = host(layer(maybe_list(data, x)))
    H, W = x.shape[2:]  # both >= 1 here: an empty image is refused
    rows = [(i * H // out, -(-(i + 1) * H // out)) for i in range(out)]
    cols = [(j * W // out, -(-(j + 1) * W // out)) for j in range(out)]
    want = np.stack([np.stack([x[:, :, a:b, c:d].astype(np.float64).mean(axis=(2, 3)) for c, d in cols], -1)
                     for a, b in rows], -2)
    np.testing.assert_allclose(y, want, rtol=1e-5, atol=1e-6)
    assert host(layer.backward(np.ones(y.shape, y.dtype))).shape == x.shape


FUZZ = {
    "nn.MaxPool2d": lambda data: fuzz_pool("MaxPool2d", data),
    "nn.AvgPool2d": lambda data: fuzz_pool("AvgPool2d", data),
    "nn.AdaptiveAvgPool2d": fuzz_adaptive_pool,
}
test_fuzz = fuzz_test(FUZZ)
