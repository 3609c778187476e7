"""Dropout: finite differences (the mask is re-drawn the same on every evaluation), the
scaling of kept units, and PyTorch parity in eval mode (masks are random in training)."""

import numpy as np
import pytest
from bad_inputs import Case, bad_input_test, elementwise_rows
from fuzzing import (
    draw_array,
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

import minidl
from minidl import nn
from minidl.errors import DTypeError, RangeError


@given(shape=st.tuples(st.integers(1, 3), st.integers(1, 4)), p=st.sampled_from([0.0, 0.3, 0.7, 1.0]))
def test_layer(shape, p):
    x = np.random.default_rng(0).standard_normal(shape)
    # gradcheck seeds the mask with its seed (0); a mask that keeps nothing (p = 1, or a tiny
    # tensor at p = 0.7) makes the gradient 0 by construction: allowed, and the check shows it is 0
    minidl.manual_seed(0)
    kept = bool(minidl.functional.dropout.dropout_mask(x, p).any()) if p < 1 else False
    check_layer(lambda: nn.Dropout(p), (x,), allow_zero=() if kept else ("input 0",))
    twin = None if torch is None else (lambda: torch.nn.Dropout(p))
    check_layer(lambda: nn.Dropout(p).eval(), (x,), torch_layer=twin, train=False)


def test_dropout_scales_kept_units_and_is_seeded():
    x = np.ones((200, 50), np.float32)
    minidl.manual_seed(3)
    y1 = nn.Dropout(0.25)(x)
    minidl.manual_seed(3)
    y2 = nn.Dropout(0.25)(x)
    np.testing.assert_array_equal(y1, y2)
    assert y1.dtype == np.float32 and set(np.unique(y1)) <= {0.0, np.float32(1 / 0.75)}
    assert abs((y1 == 0).mean() - 0.25) < 0.02


def test_same_values_as_pytorch_dropout():
    if torch is None:
        pytest.skip("torch is the reference here")
    x = np.ones((1000,))
    y = nn.Dropout(0.4)(x)
    yt = torch.nn.Dropout(0.4)(torch.tensor(x))
    assert set(np.unique(y)) == set(np.unique(yt.numpy()))  # {0, 1/0.6}


def test_p_one_zeroes_everything_and_eval_passes_integers_through():
    assert not nn.Dropout(1.0)(np.ones((3, 2))).any()
    ids = np.array([1, 2, 3])
    assert nn.Dropout(0.5).eval()(ids) is ids


# ---------------------------------------------- bad input and fuzzing (tests/bad_inputs.py, tests/fuzzing.py)
BAD_INPUTS = [
    *elementwise_rows("Dropout", nn.Dropout),
    Case("nn.Dropout", "p above 1", lambda: nn.Dropout(1.5), RangeError,
         r"Dropout: p \(the dropout probability\) must be a finite number in \[0.0, 1.0\], got 1.5"),
    Case("nn.Dropout", "p NaN", lambda: nn.Dropout(float("nan")), RangeError, r"Dropout: p .*got nan"),
    Case("nn.Dropout", "p a string", lambda: nn.Dropout("0.5"), DTypeError, r"Dropout: p .*must be a real number"),
    Case("nn.Dropout", "an integer input in training (PyTorch refuses it too)",
         lambda: nn.Dropout(0.5)(np.ones((2, 3), int)), DTypeError,
         r"Dropout: input must be a floating array in training mode, got dtype int64"),
]
test_bad_input = bad_input_test(BAD_INPUTS)


def fuzz_dropout(data):
    x = draw_array(data)
    p = data.draw(mostly([0.0, 0.5, 1.0], [1.5, -0.1, float("nan"), "0.5"]), label="p")
    training = data.draw(st.booleans(), label="training")
    layer = nn.Dropout(p).train(training)
    _, (xd,) = on_device(data, x)
    y = host(layer(maybe_list(data, xd)))
    assert y.shape == x.shape
    if not training or p == 0.0:
        np.testing.assert_array_equal(y, x)
    else:
        kept = (y != 0) & np.isfinite(x)  # a dropped inf is inf·0 = NaN, as in PyTorch
        with np.errstate(all="ignore"):
            np.testing.assert_allclose(y[kept], (x / (1 - p))[kept].astype(y.dtype), rtol=1e-6)
    if finite(x):
        assert finite(y)


FUZZ = {"nn.Dropout": fuzz_dropout}
test_fuzz = fuzz_test(FUZZ)
