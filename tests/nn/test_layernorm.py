"""LayerNorm: the bare pair by finite differences (``gradcheck_pair``), the layer by one
``check_layer`` call per case (float64 finite differences on NumPy and the strict CuPy
stand-in, then parity with ``torch.nn.LayerNorm`` at the same weights), its bad inputs
(``BAD_INPUTS``) and its fuzz entry (``FUZZ``)."""

import numpy as np
import pytest
from bad_inputs import Case, backward_after, bad_input_test, f32, f64
from fuzzing import draw_array, draw_shape, finite, fuzz_test, host, maybe_list, mostly, on_device
from helpers import check_layer, torch
from hypothesis import given
from hypothesis import strategies as st

from minidl import backend, nn
from minidl.errors import DTypeError, RangeError, ShapeError
from minidl.functional.layernorm import LayerNormCache, layer_norm_backward, layer_norm_forward
from minidl.gradcheck import gradcheck_pair


def _x(shape, seed=0):
    return 2.0 * np.random.default_rng(seed).standard_normal(shape) + 0.5


@given(lead=st.sampled_from([(1,), (3,), (2, 3)]), norm=st.sampled_from([(2,), (4,), (2, 3)]),
       affine=st.booleans())
def test_pair_gradcheck(device, to_dev, lead, norm, affine):
    rng = np.random.default_rng(len(lead) + sum(norm))
    arrays = {"x": to_dev(rng.standard_normal(lead + norm))}
    if affine:
        arrays |= {"weight": to_dev(rng.standard_normal(norm)), "bias": to_dev(rng.standard_normal(norm))}
    r = gradcheck_pair(layer_norm_forward, layer_norm_backward, arrays, {"normalized_shape": norm})
    assert r.ok and set(r.errors) == set(arrays), str(r)


def test_the_contract():
    """A named cache; each row of the output has mean 0 and variance 1 before γ and β."""
    y, cache = layer_norm_forward(_x((3, 4)), normalized_shape=(4,))
    assert isinstance(cache, LayerNormCache) and cache.shape == (3, 4)
    np.testing.assert_allclose(y.mean(axis=1), 0.0, atol=1e-12)
    np.testing.assert_allclose(y.var(axis=1), 1.0, rtol=1e-4)  # ε = 1e-5 against a variance of ≈ 4


def _twin(*args, **kwargs):
    return None if torch is None else (lambda: torch.nn.LayerNorm(*args, **kwargs))


@pytest.mark.parametrize("shape, norm", [((3, 4), 4), ((2, 3, 4), (4,)), ((2, 3, 2), (3, 2)), ((1, 5), 5)])
@pytest.mark.parametrize("affine", [True, False])
def test_layer(device, shape, norm, affine):
    check_layer(lambda: nn.LayerNorm(norm, elementwise_affine=affine), (_x(shape),), devices=(device,),
                torch_layer=_twin(norm, elementwise_affine=affine))


def test_without_bias():
    check_layer(lambda: nn.LayerNorm(3, bias=False), (_x((2, 3)),), torch_layer=_twin(3, bias=False))


# ---------------------------------------------- bad input and fuzzing (tests/bad_inputs.py, tests/fuzzing.py)
BAD_INPUTS = [
    Case("nn.LayerNorm", "input of the wrong last dim", lambda: nn.LayerNorm(4)(f32(2, 3)), ShapeError,
         r"LayerNorm: input must have shape \(\.\.\., 4\), got \(2, 3\)"),
    Case("nn.LayerNorm", "a list as input", lambda: nn.LayerNorm(2)([[1.0, 2.0]]), DTypeError,
         r"LayerNorm: input must be an array .*got list"),
    Case("nn.LayerNorm", "an integer input", lambda: nn.LayerNorm(2)(np.ones((2, 2), int)), DTypeError,
         r"LayerNorm: input must be a floating array, got dtype int64"),
    Case("nn.LayerNorm", "float64 input on float32 parameters", lambda: nn.LayerNorm(2)(f64(3, 2)), DTypeError,
         r"LayerNorm: input must have dtype float32 \(the parameters'\), got float64"),
    Case("nn.LayerNorm", "an empty normalized_shape", lambda: nn.LayerNorm(()), RangeError,
         r"LayerNorm: normalized_shape must be a positive int or a non-empty tuple of them, got \(\)"),
    Case("nn.LayerNorm", "a zero feature count", lambda: nn.LayerNorm(0), RangeError,
         r"LayerNorm: normalized_shape must be a positive int .*got 0"),
    Case("nn.LayerNorm", "a negative eps", lambda: nn.LayerNorm(2, eps=-1e-5), RangeError,
         r"LayerNorm: eps must be a finite number in \(0.0, inf\), got -1e-05"),
    Case("nn.LayerNorm", "an upstream gradient of the wrong shape", backward_after(nn.LayerNorm(3), f32(2, 3),
         f32(3, 2)), ShapeError, r"LayerNorm\.backward: dy must have the output's shape \(2, 3\), got \(3, 2\)"),
]
test_bad_input = bad_input_test(BAD_INPUTS)


def fuzz_layer_norm(data):
    k = data.draw(st.integers(1, 3), label="K")
    affine = data.draw(st.booleans(), label="affine")
    layer = nn.LayerNorm(k, elementwise_affine=affine)
    shape = draw_shape(data)[:-1] + (data.draw(mostly([k], [k + 1]), label="width"),)
    x = draw_array(data, shape=shape, dtypes=[np.float32] * 3 + [np.float64, np.int64])
    device, (xd,) = on_device(data, x)
    layer.to(device)
    y = host(layer(maybe_list(data, xd)))
    x64 = x.astype(np.float64)
    with np.errstate(all="ignore"):
        want = (x64 - x64.mean(-1, keepdims=True)) / np.sqrt(x64.var(-1, keepdims=True) + layer.eps)
    np.testing.assert_allclose(y, want, rtol=1e-4, atol=1e-4)
    dx = host(layer.backward(backend.to_device(np.ones(y.shape, y.dtype), device)))
    assert dx.shape == x.shape
    if finite(x):
        assert finite(y) and finite(dx)


FUZZ = {"nn.LayerNorm": fuzz_layer_norm}
test_fuzz = fuzz_test(FUZZ)
