"""Float64 finite-difference checks of every basic layer, on NumPy and the strict double."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import minidl
from minidl import nn
from minidl.gradcheck import gradcheck

shapes = st.tuples(st.integers(1, 3), st.integers(1, 4))


def _x(shape, seed=0, scale=1.0):
    return scale * np.random.default_rng(seed).standard_normal(shape)


@given(shape=shapes, out=st.integers(1, 4), bias=st.booleans())
def test_linear(device, to_dev, shape, out, bias):
    m = nn.Linear(shape[1], out, bias=bias).double().to(device)
    assert gradcheck(m, to_dev(_x(shape)), randomize_params=True).ok


def test_linear_leading_dims(device, to_dev):
    m = nn.Linear(3, 2).double().to(device)
    r = gradcheck(m, to_dev(_x((2, 4, 3))), randomize_params=True)
    assert r.ok, str(r)


@pytest.mark.parametrize("layer", [nn.ReLU, nn.Tanh, nn.Sigmoid, nn.Softmax, nn.LogSoftmax, nn.Flatten])
@given(shape=st.tuples(st.integers(1, 3), st.integers(1, 4), st.integers(1, 3)))
def test_activations(device, to_dev, layer, shape):
    x = _x(shape, scale=2.0)
    if layer is nn.ReLU:  # keep away from the kink at 0, where finite differences straddle it
        x = np.where(np.abs(x) < 1e-3, 0.5, x)
    r = gradcheck(layer(), to_dev(x))
    assert r.ok, str(r)


@given(shape=shapes, p=st.sampled_from([0.0, 0.3, 0.7]))
def test_dropout(device, to_dev, shape, p):
    r = gradcheck(nn.Dropout(p), to_dev(_x(shape)))
    assert r.ok, str(r)


@given(v=st.integers(2, 6), e=st.integers(1, 4), n=st.integers(1, 3), t=st.integers(1, 4), pad=st.booleans())
def test_embedding(device, to_dev, v, e, n, t, pad):
    m = nn.Embedding(v, e, padding_idx=0 if pad else None).double().to(device)
    # The padding row is *defined* to get no gradient (its true derivative is not zero when
    # padding ids occur), so the finite-difference check uses the other ids; the test below
    # checks the padding rule itself.
    ids = np.random.default_rng(1).integers(1 if pad else 0, v, size=(n, t))
    ids[0, 0] = 1
    ids.flat[-1] = ids[0, 0]  # repeated ids must sum their gradients
    r = gradcheck(m, to_dev(ids))
    assert r.ok, str(r)


def test_embedding_padding_row_gets_no_gradient(device, to_dev):
    m = nn.Embedding(5, 3, padding_idx=0).to(device)
    ids = to_dev(np.array([[0, 2, 0], [2, 2, 4]]))
    y = m(ids)
    m.backward(y * 0 + 1)
    g = minidl.asnumpy(m.weight.grad)
    assert np.all(g[0] == 0) and np.all(minidl.asnumpy(m.weight.data)[0] == 0)
    np.testing.assert_allclose(g[2], 3.0)  # id 2 appears three times: the sum, not the last
    np.testing.assert_allclose(g[4], 1.0)


def _loss_inputs(kind, n, c, rng):
    if kind in ("ce", "nll"):
        x = rng.standard_normal((n, c))
        if kind == "nll":
            x = x - np.log(np.exp(x).sum(1, keepdims=True))
        return x, rng.integers(0, c, n)
    if kind == "bce":
        return rng.uniform(0.05, 0.95, (n, c)), rng.integers(0, 2, (n, c)).astype(float)
    return 3 * rng.standard_normal((n, c)), rng.uniform(0, 1, (n, c))


LOSSES = {"ce": nn.CrossEntropyLoss, "nll": nn.NLLLoss, "bce": nn.BCELoss, "bcel": nn.BCEWithLogitsLoss}


@pytest.mark.parametrize("kind", sorted(LOSSES))
@pytest.mark.parametrize("reduction", ["mean", "sum"])
@given(n=st.integers(1, 3), c=st.integers(2, 4))
def test_losses(device, to_dev, kind, reduction, n, c):
    x, t = _loss_inputs(kind, n, c, np.random.default_rng(n * 7 + c))
    r = gradcheck(LOSSES[kind](reduction=reduction), to_dev(x), to_dev(t), check_inputs=[0])
    assert r.ok, str(r)


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


def test_gradcheck_catches_a_wrong_backward(to_dev):
    class BadTanh(nn.Tanh):
        def backward(self, dy):
            y = self.saved()
            return dy * (1 - y)  # wrong: should be 1 - y²

    r = gradcheck(BadTanh(), to_dev(_x((2, 3))))
    assert not r.ok and r.errors["input 0"] > 1e-3
    with pytest.raises(AssertionError):
        r.assert_ok()


def test_gradcheck_direction_mode(device, to_dev):
    m = nn.Sequential(nn.Linear(4, 5), nn.Tanh(), nn.Linear(5, 2)).double().to(device)
    r = gradcheck(m, to_dev(_x((3, 4))), mode="direction", randomize_params=True)
    assert r.ok, str(r)
    assert set(r.errors) == {"input 0", "0.weight", "0.bias", "2.weight", "2.bias"}


def test_gradcheck_refuses_float32():
    with pytest.raises(TypeError, match="float64"):
        gradcheck(nn.Linear(2, 2), np.zeros((1, 2), np.float32))
