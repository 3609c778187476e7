"""Same weights, same inputs -> same outputs and gradients as PyTorch (float64, rtol 1e-5).

Skipped when torch is not importable; torch is a reference here, never a dependency."""

import numpy as np
import pytest

import minidl
from minidl import nn

torch = pytest.importorskip("torch")


def _t(a, grad=True):
    return torch.tensor(a, dtype=torch.float64, requires_grad=grad)


def _load_same_weights(ours, theirs):
    theirs.double()
    ours.load_state_dict({k: v.detach().numpy() for k, v in theirs.state_dict().items()})
    ours.double()


def _check(ours, theirs, x, rtol=1e-5):
    xt = _t(x)
    yt = theirs(xt)
    g = np.random.default_rng(1).standard_normal(yt.shape)
    yt.backward(torch.tensor(g))
    ours.zero_grad()
    y = ours(x)
    dx = ours.backward(g)
    np.testing.assert_allclose(y, yt.detach().numpy(), rtol=rtol, atol=1e-12)
    np.testing.assert_allclose(dx, xt.grad.numpy(), rtol=rtol, atol=1e-12)
    tparams = dict(theirs.named_parameters())
    for name, p in ours.named_parameters():
        np.testing.assert_allclose(p.grad, tparams[name].grad.numpy(), rtol=rtol, atol=1e-12, err_msg=name)


@pytest.mark.parametrize(
    "make",
    [
        lambda m: (m.Linear(4, 3),),
        lambda m: (m.Sequential(m.Linear(4, 5), m.ReLU(), m.Linear(5, 2), m.Tanh()),),
        lambda m: (m.Sigmoid(),),
        lambda m: (m.Softmax(dim=-1),),
        lambda m: (m.LogSoftmax(dim=1),),
        lambda m: (m.Flatten(),),
    ],
)
def test_layers_match_pytorch(make):
    ours, theirs = make(nn)[0], make(torch.nn)[0]
    _load_same_weights(ours, theirs)
    x = np.random.default_rng(0).standard_normal((3, 4)) * 3
    if isinstance(ours, nn.Flatten):
        x = x.reshape(3, 2, 2)
    _check(ours, theirs, x)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_sigmoid_exact_in_both_tails(dtype):
    # relative, not absolute, agreement: sigma(-20) ~ 2e-9 must not come out as 0
    x = np.array([-1000.0, -100.0, -50.0, -20.0, -15.0, -1.0, 0.0, 1.0, 15.0, 20.0, 50.0, 100.0, 1000.0], dtype)
    with np.errstate(over="raise", invalid="raise", divide="raise"):  # underflow to 0 is right
        y = nn.Sigmoid()(x)
    assert y.dtype == dtype
    ref = torch.sigmoid(torch.tensor(x)).numpy()
    # relative error of a few ulps wherever the value is a normal number (below the smallest
    # normal, subnormals carry fewer digits and libraries may flush them to zero)
    np.testing.assert_allclose(y, ref, rtol=4 * np.finfo(dtype).eps, atol=np.finfo(dtype).tiny)
    assert y[3] > 0  # sigma(-20) is tiny, not zero


def test_sigmoid_bce_far_left_tail_matches_pytorch():
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


def test_embedding_matches_pytorch():
    theirs = torch.nn.Embedding(7, 3, padding_idx=0).double()
    ours = nn.Embedding(7, 3, padding_idx=0)
    _load_same_weights(ours, theirs)
    ids = np.array([[0, 3, 3], [6, 0, 1]])
    yt = theirs(torch.tensor(ids))
    g = np.random.default_rng(2).standard_normal(yt.shape)
    yt.backward(torch.tensor(g))
    y = ours(ids)
    ours.backward(g)
    np.testing.assert_allclose(y, yt.detach().numpy(), rtol=1e-12)
    np.testing.assert_allclose(ours.weight.grad, theirs.weight.grad.numpy(), rtol=1e-12)


def test_dropout_eval_and_scaling_match_pytorch():
    x = np.ones((1000,))
    d = nn.Dropout(0.4)
    y = d(x)
    yt = torch.nn.Dropout(0.4)(torch.tensor(x))
    assert set(np.unique(y)) == set(np.unique(yt.numpy()))  # {0, 1/0.6}
    d.eval()
    np.testing.assert_array_equal(d(x), x)


@pytest.mark.parametrize("reduction", ["mean", "sum"])
@pytest.mark.parametrize("kind", ["ce", "nll", "bce", "bcel"])
def test_losses_match_pytorch(kind, reduction):
    rng = np.random.default_rng(3)
    if kind in ("ce", "nll"):
        x = rng.standard_normal((5, 4))
        if kind == "nll":
            x = x - np.log(np.exp(x).sum(1, keepdims=True))
        t = rng.integers(0, 4, 5)
        tt = torch.tensor(t)
    else:
        x = rng.uniform(0.01, 0.99, (5, 3)) if kind == "bce" else 4 * rng.standard_normal((5, 3))
        t = rng.uniform(0, 1, (5, 3))
        tt = torch.tensor(t)
    ours = {"ce": nn.CrossEntropyLoss, "nll": nn.NLLLoss, "bce": nn.BCELoss, "bcel": nn.BCEWithLogitsLoss}[kind]
    theirs = {"ce": torch.nn.CrossEntropyLoss, "nll": torch.nn.NLLLoss, "bce": torch.nn.BCELoss,
              "bcel": torch.nn.BCEWithLogitsLoss}[kind]
    xt = _t(x)
    lt = theirs(reduction=reduction)(xt, tt)
    lt.backward(torch.tensor(0.7, dtype=torch.float64))
    crit = ours(reduction=reduction)
    loss = crit(x, t)
    np.testing.assert_allclose(float(loss), lt.item(), rtol=1e-10)
    np.testing.assert_allclose(crit.backward(0.7), xt.grad.numpy(), rtol=1e-10, atol=1e-14)


def test_bce_at_the_clamp_matches_pytorch():
    p = np.array([0.0, 1.0, 0.5])
    t = np.array([1.0, 0.0, 1.0])
    pt = _t(p)
    lt = torch.nn.BCELoss()(pt, torch.tensor(t))
    lt.backward()
    crit = nn.BCELoss()
    np.testing.assert_allclose(float(crit(p, t)), lt.item(), rtol=1e-12)
    # at the clamp the gradient is huge but finite, and the same as PyTorch's
    g = minidl.asnumpy(crit.backward())
    assert np.all(np.isfinite(g))
    np.testing.assert_allclose(g, pt.grad.numpy(), rtol=1e-8)  # eps 1e-12 rounds differently
