"""Linear, the worked example of the functional contract: its proof is one call of
``check_layer`` per case (finite differences in float64 on the test's device, NumPy and the
strict CuPy stand-in by default, then parity with ``torch.nn.Linear`` at the same weights),
for any batch size and width, with and without bias, and with leading dimensions."""

import numpy as np
from bad_inputs import Case, bad_input_test, f32
from fuzzing import (
    close,
    draw_array,
    draw_shape,
    finite,
    fuzz_test,
    host,
    maybe_list,
    mostly,
    on_device,
)
from helpers import check_layer, torch
from hypothesis import given
from hypothesis import strategies as st

from minidl import nn
from minidl.errors import ShapeError


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


# ---------------------------------------------- bad input and fuzzing (tests/bad_inputs.py, tests/fuzzing.py)
BAD_INPUTS = [
    Case("nn.Linear", "input of the wrong width", lambda: nn.Linear(3, 2)(f32(2, 4)), ShapeError,
         r"Linear: input must have shape \(\.\.\., 3\), got \(2, 4\)"),
]
test_bad_input = bad_input_test(BAD_INPUTS)


def fuzz_linear(data):
    d, m = data.draw(st.integers(1, 3), label="D"), data.draw(st.integers(1, 3), label="M")
    layer = nn.Linear(d, m)
    shape = draw_shape(data)[:-1] + (data.draw(mostly([d], [d + 1]), label="width"),)
    x = draw_array(data, shape=shape, dtypes=[np.float32] * 3 + [np.float64, np.int64])
    device, (xd,) = on_device(data, x)
    layer.to(device)
    y = host(layer(maybe_list(data, xd)))
    W, b = host(layer.weight.data), host(layer.bias.data)
    close(y, x.astype(np.float64) @ W.T + b, np.float32)
    if finite(x):
        assert finite(y)


FUZZ = {"nn.Linear": fuzz_linear}
test_fuzz = fuzz_test(FUZZ)
