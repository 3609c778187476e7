"""Float64 finite-difference checks of Linear, on NumPy and the strict double. (The other layers' checks
live in tests/nn/, the checker's own tests in tests/test_gradcheck.py.)"""

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

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
