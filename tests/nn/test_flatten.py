"""Flatten: a reshape forward and backward; parity with torch.nn.Flatten."""

import math

import numpy as np
import pytest
from bad_inputs import Case, backward_after, bad_input_test, elementwise_rows, f64
from fuzzing import (
    draw_array,
    draw_shape,
    fuzz_test,
    host,
    maybe_list,
)
from helpers import check_layer, torch
from hypothesis import strategies as st

from minidl import nn
from minidl.errors import ShapeError


@pytest.mark.parametrize("start,end", [(1, -1), (0, 1), (1, 2), (2, 2)])
def test_layer(start, end):
    x = np.random.default_rng(0).standard_normal((2, 3, 2, 2))
    twin = None if torch is None else (lambda: torch.nn.Flatten(start, end))
    check_layer(lambda: nn.Flatten(start, end), (x,), torch_layer=twin)


def test_zero_size_batch():
    m = nn.Flatten()
    y = m(np.zeros((0, 3, 2)))
    assert y.shape == (0, 6) and m.backward(y).shape == (0, 3, 2)


# ---------------------------------------------- bad input and fuzzing (tests/bad_inputs.py, tests/fuzzing.py)
BAD_INPUTS = [
    *elementwise_rows("Flatten", nn.Flatten, upstream_shape=False),
    Case("nn.Flatten", "start_dim outside the input's dims", lambda: nn.Flatten(start_dim=3)(f64(2, 3)), ShapeError,
         r"Flatten: start_dim must lie in \[-2, 2\) for an input with 2 dims, got 3"),
    Case("nn.Flatten", "start_dim after end_dim", lambda: nn.Flatten(2, 1)(f64(2, 3, 4)), ShapeError,
         r"Flatten: start_dim must not come after end_dim, got start_dim=2, end_dim=1"),
    Case("nn.Flatten", "an upstream gradient of the wrong shape",
         backward_after(nn.Flatten(), f64(2, 3, 2), f64(2, 3, 2)), ShapeError,
         r"Flatten\.backward: dy must have the output's shape \(2, 6\), got \(2, 3, 2\)"),
]
test_bad_input = bad_input_test(BAD_INPUTS)


def fuzz_flatten(data):
    x = draw_array(data, shape=draw_shape(data, min_dims=0, max_dims=4))
    legal = st.integers(-x.ndim, x.ndim - 1) if x.ndim else st.integers(-1, 0)
    start = data.draw(legal if data.draw(st.integers(0, 3)) else st.integers(-4, 3), label="start")
    end = data.draw(legal if data.draw(st.integers(0, 3)) else st.integers(-4, 3), label="end")
    layer = nn.Flatten(start, end)
    y = host(layer(maybe_list(data, x)))
    s, e = start % x.ndim, end % x.ndim
    assert y.shape == x.shape[:s] + (math.prod(x.shape[s:e + 1]),) + x.shape[e + 1:]
    np.testing.assert_array_equal(y.ravel(), x.ravel())
    assert layer.backward(np.ones(y.shape)).shape == x.shape


FUZZ = {"nn.Flatten": fuzz_flatten}
test_fuzz = fuzz_test(FUZZ)
