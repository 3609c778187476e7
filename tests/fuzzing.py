"""Fuzzing, declared beside the tests of each layer.

A fuzz entry is a function ``(data) -> None`` that draws its inputs with hypothesis's
``data`` (random shapes, empty ones included, dtypes, NaN/inf, lists instead of arrays, bad
settings), calls minidl, and checks what came back against a plain NumPy reference. The call
must either return the right result or raise one of minidl's documented errors
(:class:`minidl.errors.MinidlError`): never a raw NumPy error, never an ``AttributeError``,
and never NaN or inf from finite input. A test module lists its entries in a module-level
``FUZZ`` and runs them with one line:

    FUZZ = {"nn.Linear": fuzz_linear}
    test_fuzz = fuzz_test(FUZZ)

``tests/test_fuzz.py`` checks that every public layer and optimizer has an entry somewhere:
it reads ``FUZZ`` from every test module (:func:`bad_inputs.declared`).
"""

from __future__ import annotations

import os
import warnings

import numpy as np
import pytest
from hypothesis import event, given, settings
from hypothesis import strategies as st

import minidl
from minidl import backend
from minidl.errors import MinidlError

FLOATS = [np.float32, np.float64]
OTHER_DTYPES = [np.int64, np.bool_, np.complex128]
DTYPES = FLOATS * 3 + OTHER_DTYPES  # mostly legal input, so that results get checked too
SPECIALS = [np.nan, np.inf, -np.inf]
_DREW_NONFINITE = [False]  # set when an example puts NaN/inf into an input (then NumPy may warn)

# Examples per fuzz test: a dozen keeps the suite fast; MINIDL_FUZZ_EXAMPLES=300 searches wider
# (an empty image under MaxPool2d's padding was found that way, 2026-12-07)
FUZZ_EXAMPLES = int(os.environ.get("MINIDL_FUZZ_EXAMPLES", "12"))


def mostly(valid, invalid):
    """Choices where a legal value is drawn about three times in four."""
    return st.sampled_from(list(valid) * 3 + list(invalid))


def draw_shape(data, min_dims=1, max_dims=3, max_side=3):
    ndim = data.draw(st.integers(min_dims, max_dims), label="ndim")
    sides = mostly(range(1, max_side + 1), [0])  # empty batches too, one draw in ten or so
    return tuple(data.draw(sides, label="side") for _ in range(ndim))


def draw_array(data, shape=None, dtypes=DTYPES, scale=3.0, specials=True):
    """A host array of a drawn (or given) shape and dtype; sometimes with NaN/inf in it."""
    shape = draw_shape(data) if shape is None else shape
    dtype = np.dtype(data.draw(st.sampled_from(dtypes), label="dtype"))
    rng = np.random.default_rng(data.draw(st.integers(0, 2**16), label="seed"))
    values = scale * rng.standard_normal(shape)
    if specials and values.size and data.draw(st.integers(0, 3), label="special") == 3:
        values.flat[data.draw(st.integers(0, values.size - 1))] = data.draw(st.sampled_from(SPECIALS))
        # sticky for the example: a later integer array (its NaN made 0) must not clear an earlier inf
        _DREW_NONFINITE[0] = _DREW_NONFINITE[0] or dtype.kind in "fc"
    if dtype.kind in "iub":
        values = np.nan_to_num(values, nan=0.0, posinf=5.0, neginf=-5.0)
    return values.astype(dtype)


def maybe_list(data, a):
    """Sometimes a Python list instead of the array (PyTorch layers take tensors; minidl arrays)."""
    return a.tolist() if data.draw(st.integers(0, 7), label="as list") == 7 else a


def on_device(data, *arrays):
    device = data.draw(st.sampled_from(["cpu", "strict"]), label="device")
    moved = tuple(backend.to_device(a, device) if isinstance(a, np.ndarray) else a for a in arrays)
    return device, moved


def finite(a) -> bool:
    return isinstance(a, np.ndarray) and a.dtype.kind in "fc" and bool(np.isfinite(a).all()) or \
        isinstance(a, np.ndarray) and a.dtype.kind in "iub"


def host(a):
    return minidl.asnumpy(a)


def close(got, want, dtype):
    tol = 1e-5 if np.dtype(dtype) == np.float32 else 1e-10
    np.testing.assert_allclose(host(got), want, rtol=tol, atol=tol)


def upstream_like(out, rng):
    return rng.standard_normal(np.shape(out)).astype(out.dtype if out.dtype.kind == "f" else np.float64)


def draw_image(data, channels):
    """(N, C, H, W), mostly with the expected C, sometimes a wrong C or rank."""
    n, h, w = (data.draw(mostly([1, 2], [0]), label=k) for k in ("N", "H", "W"))
    h, w = h + data.draw(st.integers(0, 4)), w + data.draw(st.integers(0, 4))
    shape = data.draw(mostly([(n, channels, h, w)], [(n, channels + 1, h, w), (channels, h, w)]), label="shape")
    return draw_array(data, shape=shape, dtypes=[np.float32] * 3 + [np.float64, np.int64])


def sliding_windows(xp_pad, k, s):
    """(N, C, Ho, Wo, kh, kw) windows of an already padded input, stride s."""
    v = np.lib.stride_tricks.sliding_window_view(xp_pad, k, axis=(2, 3))
    return v[:, :, ::s[0], ::s[1]]


def fuzz_test(entries):
    """The test of a module's fuzz entries: one parametrised hypothesis test per entry."""

    @pytest.mark.parametrize("entry", sorted(entries))
    @settings(max_examples=FUZZ_EXAMPLES)
    @given(data=st.data())
    def test_fuzz(entry, data):
        _DREW_NONFINITE[0] = False
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            try:
                entries[entry](data)
                event("returned a checked result")  # pytest --hypothesis-show-statistics shows the mix
            except MinidlError as e:
                event(f"raised {type(e).__name__}")  # documented; the BAD_INPUTS rows check the messages
        # NaN/inf in, NaN/inf out is NumPy's (and PyTorch's) rule, warnings included; from finite
        # input a RuntimeWarning (overflow, log of 0, 0/0) means a formula is not safe
        runtime = [str(w.message) for w in caught if issubclass(w.category, RuntimeWarning)]
        assert _DREW_NONFINITE[0] or not runtime, f"{entry} warned on finite input: {runtime}"

    return test_fuzz
