"""Flatten: a reshape forward and backward; parity with torch.nn.Flatten."""

import numpy as np
import pytest
from helpers import check_layer, torch

from minidl import nn


@pytest.mark.parametrize("start,end", [(1, -1), (0, 1), (1, 2), (2, 2)])
def test_layer(start, end):
    x = np.random.default_rng(0).standard_normal((2, 3, 2, 2))
    twin = None if torch is None else (lambda: torch.nn.Flatten(start, end))
    check_layer(lambda: nn.Flatten(start, end), (x,), torch_layer=twin)


def test_zero_size_batch():
    m = nn.Flatten()
    y = m(np.zeros((0, 3, 2)))
    assert y.shape == (0, 6) and m.backward(y).shape == (0, 3, 2)
