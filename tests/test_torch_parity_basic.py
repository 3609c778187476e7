"""Same weights, same inputs -> same outputs and gradients as PyTorch (float64, rtol 1e-5): Linear
and a small Sequential. (Activations, dropout, embedding and losses: tests/nn/, via check_layer.)

Skipped when torch is not importable; torch is a reference here, never a dependency."""

import numpy as np
import pytest

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
    ],
)
def test_layers_match_pytorch(make):
    ours, theirs = make(nn)[0], make(torch.nn)[0]
    _load_same_weights(ours, theirs)
    x = np.random.default_rng(0).standard_normal((3, 4)) * 3
    _check(ours, theirs, x)
