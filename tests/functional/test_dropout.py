"""The dropout pair: the mask is a constant of the forward, repeatable under manual_seed."""

import numpy as np
import pytest

import minidl
from minidl.functional.dropout import dropout_backward, dropout_forward, dropout_mask
from minidl.gradcheck import gradcheck_pair


@pytest.mark.parametrize("p", [0.0, 0.3, 0.7, 1.0])
def test_pair_gradcheck(device, to_dev, p):
    x = to_dev(np.random.default_rng(0).standard_normal((3, 4)))
    # p = 1 drops every unit: the gradient is 0 by construction, and the check shows the
    # backward returns exactly that (allowed); any other p must give a non-zero gradient
    allow = ["x"] if p == 1.0 else []
    r = gradcheck_pair(dropout_forward, dropout_backward, {"x": x}, {"p": p}, allow_zero=allow)  # re-seeded mask
    assert r.ok, str(r)
    assert r.unexercised == allow


def test_eval_is_the_identity_and_keeps_no_mask():
    x = np.arange(6.0).reshape(2, 3)
    y, cache = dropout_forward(x, p=0.5, training=False)
    assert y is x and cache.scaled_mask is None
    assert dropout_backward(np.ones((2, 3)), cache)["x"].tolist() == np.ones((2, 3)).tolist()


def test_mask_scales_kept_units_and_p_one_keeps_nothing():
    x = np.ones((400, 50), np.float32)
    minidl.manual_seed(1)
    m = dropout_mask(x, 0.25)
    assert m.dtype == np.float32 and set(np.unique(m)) <= {0.0, np.float32(1 / 0.75)}
    assert abs((m == 0).mean() - 0.25) < 0.02
    assert not dropout_mask(x, 1.0).any()
