"""ReLU, Tanh, Sigmoid, Softmax, LogSoftmax: finite differences on NumPy and the strict
device, and PyTorch parity, in one call each (tests/helpers.py)."""

import numpy as np
import pytest
from bad_inputs import Case, bad_input_test, elementwise_rows, f64
from fuzzing import (
    close,
    draw_array,
    finite,
    fuzz_test,
    host,
    maybe_list,
    on_device,
    upstream_like,
)
from helpers import check_layer, torch
from hypothesis import given
from hypothesis import strategies as st

from minidl import backend, nn
from minidl.errors import DTypeError, ShapeError

LAYERS = {
    "ReLU": (nn.ReLU, {}),
    "Tanh": (nn.Tanh, {}),
    "Sigmoid": (nn.Sigmoid, {}),
    "Softmax": (nn.Softmax, {"dim": -1}),
    "Softmax_dim0": (nn.Softmax, {"dim": 0}),
    "LogSoftmax": (nn.LogSoftmax, {"dim": 1}),
}


@pytest.mark.parametrize("name", sorted(LAYERS))
@given(shape=st.tuples(st.integers(1, 3), st.integers(1, 4), st.integers(1, 3)))
def test_layer(name, shape):
    cls, kw = LAYERS[name]
    if "dim" in kw:  # a softmax over one entry is the constant 1 (log: 0): its gradient is 0, nothing to check
        shape = list(shape)
        shape[kw["dim"]] = max(2, shape[kw["dim"]])
    x = 2.0 * np.random.default_rng(sum(shape)).standard_normal(shape)
    if cls is nn.ReLU:  # keep away from the kink at 0, where finite differences straddle it
        x = np.where(np.abs(x) < 1e-3, 0.5, x)
        x.flat[0] = abs(x.flat[0])  # at least one unit passes gradient (all-negative input checks nothing)
    twin = None if torch is None else (lambda: getattr(torch.nn, cls.__name__)(**kw))
    check_layer(lambda: cls(**kw), (x,), torch_layer=twin)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_sigmoid_exact_in_both_tails(dtype):
    if torch is None:
        pytest.skip("torch is the reference here")
    # relative, not absolute, agreement: sigma(-20) ~ 2e-9 must not come out as 0
    x = np.array([-1000.0, -100.0, -50.0, -20.0, -15.0, -1.0, 0.0, 1.0, 15.0, 20.0, 50.0, 100.0, 1000.0], dtype)
    with np.errstate(over="raise", invalid="raise", divide="raise"):  # underflow to 0 is right
        y = nn.Sigmoid()(x)
    assert y.dtype == dtype
    ref = torch.sigmoid(torch.tensor(x)).numpy()
    # a few ulps wherever the value is a normal number (subnormals carry fewer digits)
    np.testing.assert_allclose(y, ref, rtol=4 * np.finfo(dtype).eps, atol=np.finfo(dtype).tiny)
    assert y[3] > 0  # sigma(-20) is tiny, not zero


def test_sigmoid_bce_far_left_tail_matches_pytorch():
    if torch is None:
        pytest.skip("torch is the reference here")
    # report A's head: Sigmoid then BCELoss, at a logit far in the wrong tail
    z = np.array([[-20.0], [3.0]], np.float32)
    t = np.array([[1.0], [0.0]], np.float32)
    sig, bce = nn.Sigmoid(), nn.BCELoss()
    loss = bce(sig(z), t)
    dz = sig.backward(bce.backward())
    zt = torch.tensor(z, requires_grad=True)
    lt = torch.nn.BCELoss()(torch.sigmoid(zt), torch.tensor(t))
    lt.backward()
    np.testing.assert_allclose(float(loss), lt.item(), rtol=1e-6)
    np.testing.assert_allclose(dz, zt.grad.numpy(), rtol=1e-5)


def test_integer_inputs_follow_pytorch():
    """tanh/sigmoid of integers are fractions (the default float dtype); ReLU keeps integers."""
    ids = np.array([[1, -2, 3]])
    assert nn.Tanh()(ids).dtype == np.float32 and nn.Sigmoid()(ids.astype(bool)).dtype == np.float32
    y = nn.ReLU()(ids)
    assert y.dtype == ids.dtype and y.tolist() == [[1, 0, 3]]


def test_softmax_rows_sum_to_one_and_no_overflow():
    x = np.array([[1000.0, 0.0, -1000.0], [3.0, 3.0, 3.0]])
    p = nn.Softmax(dim=1)(x)
    np.testing.assert_allclose(p.sum(1), 1.0)
    np.testing.assert_allclose(np.exp(nn.LogSoftmax(dim=1)(x)), p)


def test_inplace_relu_overwrites_its_input_and_gives_the_same_gradient():
    x = np.random.default_rng(0).standard_normal((3, 4)).astype(np.float32)
    dy = np.random.default_rng(1).standard_normal((3, 4)).astype(np.float32)
    plain, inplace = nn.ReLU(), nn.ReLU(inplace=True)
    y_ref = plain(x)
    own = x.copy()
    y = inplace(own)
    assert y is own and repr(inplace) == "ReLU(inplace=True)" and repr(plain) == "ReLU()"
    np.testing.assert_array_equal(y, y_ref)
    np.testing.assert_array_equal(inplace.backward(dy), plain.backward(dy))


# ---------------------------------------------- bad input and fuzzing (tests/bad_inputs.py, tests/fuzzing.py)
BAD_INPUTS = [
    *[row for name, cls in [("ReLU", nn.ReLU), ("Tanh", nn.Tanh), ("Sigmoid", nn.Sigmoid), ("Softmax", nn.Softmax),
                            ("LogSoftmax", nn.LogSoftmax)] for row in elementwise_rows(name, cls)],
    Case("nn.ReLU", "a boolean input (PyTorch refuses it too)", lambda: nn.ReLU()(np.ones(3, bool)), DTypeError,
         r"ReLU: input must be a floating, integer, unsigned array, got dtype bool"),
    Case("nn.Tanh", "a complex input", lambda: nn.Tanh()(np.ones(3, complex)), DTypeError,
         r"Tanh: input must be .*got dtype complex128"),
    Case("nn.Sigmoid", "a string array", lambda: nn.Sigmoid()(np.array(["a"])), DTypeError,
         r"Sigmoid: input must be .*got dtype <U1"),
    Case("nn.Softmax", "an integer input (PyTorch refuses it too)", lambda: nn.Softmax(-1)(np.ones((2, 3), int)),
         DTypeError, r"Softmax: input must be a floating array, got dtype int64"),
    Case("nn.Softmax", "dim outside the input's dims", lambda: nn.Softmax(dim=2)(f64(2, 3)), ShapeError,
         r"Softmax: dim must lie in \[-2, 2\) for an input with 2 dims, got 2"),
    Case("nn.LogSoftmax", "dim not an integer", lambda: nn.LogSoftmax(dim="1")(f64(2, 3)), DTypeError,
         r"LogSoftmax: dim must be an integer, got str"),
]
test_bad_input = bad_input_test(BAD_INPUTS)


def _reference(name, x64, dim):
    if x64.size == 0:
        return x64, np.zeros_like(x64)
    with np.errstate(all="ignore"):
        if name == "ReLU":
            return np.maximum(x64, 0), (x64 > 0).astype(float)
        if name == "Tanh":
            y = np.tanh(x64)
            return y, 1 - y * y
        if name == "Sigmoid":
            y = 0.5 * (1 + np.tanh(x64 / 2))  # another exact form, as a reference
            return y, y * (1 - y)
        if name in ("Softmax", "LogSoftmax"):
            e = np.exp(x64 - x64.max(axis=dim, keepdims=True))
            p = e / e.sum(axis=dim, keepdims=True)
            return (p if name == "Softmax" else np.log(p)), None
    raise ValueError(name)


def fuzz_activation(name, data):
    x = draw_array(data)
    dim = data.draw(st.integers(-x.ndim, x.ndim - 1) if data.draw(st.integers(0, 3)) else st.integers(-4, 3),
                    label="dim")
    layer = getattr(nn, name)(dim) if name in ("Softmax", "LogSoftmax") else getattr(nn, name)()
    _, (xd,) = on_device(data, x)
    y = layer(maybe_list(data, xd))
    x64 = x.astype(np.float64)
    want, slope = _reference(name, x64, dim)
    assert y.shape == x.shape
    if name == "ReLU":
        assert y.dtype == x.dtype
    close(y, want, y.dtype)
    if finite(x):
        assert finite(host(y))
    dy = upstream_like(host(y), np.random.default_rng(0))
    dx = layer.backward(backend.to_device(dy, backend.device_of(y)))
    assert dx.shape == x.shape
    if slope is not None:
        close(dx, dy * slope, dx.dtype)


FUZZ = {f"nn.{n}": (lambda data, n=n: fuzz_activation(n, data))
        for n in ["ReLU", "Tanh", "Sigmoid", "Softmax", "LogSoftmax"]}
test_fuzz = fuzz_test(FUZZ)
