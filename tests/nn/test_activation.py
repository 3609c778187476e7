"""ReLU, Tanh, Sigmoid, Softmax, LogSoftmax: finite differences on NumPy and the strict
device, and PyTorch parity, in one call each (tests/helpers.py)."""

import numpy as np
import pytest
from helpers import check_layer, torch
from hypothesis import given
from hypothesis import strategies as st

from minidl import nn

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
    x = 2.0 * np.random.default_rng(sum(shape)).standard_normal(shape)
    if cls is nn.ReLU:  # keep away from the kink at 0, where finite differences straddle it
        x = np.where(np.abs(x) < 1e-3, 0.5, x)
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
