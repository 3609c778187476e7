"""The pair of minidl.functional.linear, checked bare (``gradcheck_pair``): the first step of
"how to add a layer" (CONTRIBUTING.md), before ``nn.Linear`` wraps it (tests/nn/test_linear.py).
Both branches of the backward: one row (dW an outer product) and several (dW = dyᵀ x)."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from minidl.functional.linear import LinearCache, linear_backward, linear_forward
from minidl.gradcheck import gradcheck_pair


@given(lead=st.sampled_from([(1,), (3,), (2, 3)]), d=st.integers(1, 4), m=st.integers(1, 4), bias=st.booleans())
def test_pair_gradcheck(device, to_dev, lead, d, m, bias):
    rng = np.random.default_rng(d + 4 * m)
    arrays = {"x": to_dev(rng.standard_normal(lead + (d,))), "weight": to_dev(rng.standard_normal((m, d)))}
    if bias:
        arrays["bias"] = to_dev(rng.standard_normal(m))
    r = gradcheck_pair(linear_forward, linear_backward, arrays)
    assert r.ok and set(r.errors) == set(arrays), str(r)


@pytest.mark.parametrize("bias", [True, False])
def test_the_contract(bias):
    """``y, cache = forward(...)``, a named cache; ``grads`` keyed by the argument names."""
    rng = np.random.default_rng(0)
    x, W, b = rng.standard_normal((3, 2)), rng.standard_normal((4, 2)), rng.standard_normal(4)
    y, cache = linear_forward(x, W, b if bias else None)
    assert isinstance(cache, LinearCache) and cache.has_bias == bias
    np.testing.assert_allclose(y, x @ W.T + (b if bias else 0), rtol=1e-14)
    grads = linear_backward(np.ones_like(y), cache)
    assert set(grads) == ({"x", "weight", "bias"} if bias else {"x", "weight"})
