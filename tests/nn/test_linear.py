"""Linear, the worked example of the functional contract: its proof is one call of
``check_layer`` per case (finite differences in float64 on the test's device, NumPy and the
strict CuPy stand-in by default, then parity with ``torch.nn.Linear`` at the same weights),
for any batch size and width, with and without bias, and with leading dimensions."""

import numpy as np
from helpers import check_layer, torch
from hypothesis import given
from hypothesis import strategies as st

from minidl import nn


def _x(shape, seed=0, scale=3.0):
    return scale * np.random.default_rng(seed).standard_normal(shape)


def _twin(*args, **kwargs):
    return None if torch is None else (lambda: torch.nn.Linear(*args, **kwargs))


@given(batch=st.integers(1, 3), features=st.integers(1, 4), out=st.integers(1, 4), bias=st.booleans())
def test_layer(device, batch, features, out, bias):
    check_layer(lambda: nn.Linear(features, out, bias=bias), (_x((batch, features)),), devices=(device,),
                torch_layer=_twin(features, out, bias=bias))


def test_leading_dims(device):
    """y = x Wᵀ + b over the last axis: x (2, 4, 3) is 8 rows of 3 features."""
    check_layer(lambda: nn.Linear(3, 2), (_x((2, 4, 3)),), devices=(device,), torch_layer=_twin(3, 2))
