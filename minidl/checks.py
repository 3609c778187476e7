"""Argument checks shared by every layer, loss, optimizer and loader.

Each check raises one of :mod:`minidl.errors` with a message of the form
``"<who>: <argument> must <expectation>, got <what was given>"``, so that a student sees
which call and which argument was wrong without reading a NumPy traceback.
"""

from __future__ import annotations

import math
import numbers

from .errors import CheckpointError, DTypeError, RangeError, ShapeError

__all__ = ["require_array", "check_shape", "check_dtype", "check_float", "check_upstream",
           "shape_str", "check_number", "check_choice", "check_dim", "check_upstream_scalar", "check_state_value"]


def shape_str(shape) -> str:
    """``(3, None, 4)`` -> ``"(3, *, 4)"``; None stands for any size."""
    inner = ", ".join("*" if s is None else str(s) for s in shape)
    return f"({inner},)" if len(shape) == 1 else f"({inner})"


def require_array(a, name: str, who: str):
    """Refuse what is not an array (a list, a scalar, None): layers take arrays, as PyTorch
    layers take tensors. Returns ``a``."""
    try:  # one attribute lookup each; cheaper than three hasattr calls on every layer call
        a.shape, a.dtype, a.ndim  # noqa: B018
    except AttributeError:
        raise DTypeError(f"{who}: {name} must be an array (numpy or cupy), got {type(a).__name__}") from None
    return a


def _shape_matches(got: tuple, shape) -> bool:
    # runs on every layer call: a plain tuple comparison when no size is free (1-2 µs less
    # than the general loop, which a batch-1 char-RNN step pays a dozen times)
    if None not in shape:
        return got == tuple(shape)
    return all(s is None or s == g for s, g in zip(shape, got))


def check_shape(a, shape, name: str, who: str, *, leading: bool = False):
    """Refuse an array whose shape differs from ``shape`` (None = any size).

    With ``leading=True`` any number of leading dims may precede ``shape``
    (``(..., D)`` is ``check_shape(x, (D,), ..., leading=True)``).
    """
    require_array(a, name, who)
    got, n = tuple(a.shape), len(shape)
    if leading:
        ok = len(got) >= n and _shape_matches(got[len(got) - n:], shape)
    else:
        ok = len(got) == n and _shape_matches(got, shape)
    if not ok:
        inner = ", ".join("*" if s is None else str(s) for s in shape)
        want = f"(..., {inner})" if leading else shape_str(shape)
        raise ShapeError(f"{who}: {name} must have shape {want}, got {got}")
    return a


def check_dtype(a, dtype, name: str, who: str):
    """Refuse an array whose dtype is not exactly ``dtype`` (no silent promotion)."""
    require_array(a, name, who)
    if a.dtype != dtype:
        raise DTypeError(f"{who}: {name} must have dtype {dtype} (the parameters'), got {a.dtype}")
    return a


def check_float(a, name: str, who: str):
    """Refuse a non-floating array (integers, booleans, complex)."""
    require_array(a, name, who)
    if a.dtype.kind != "f":
        raise DTypeError(f"{who}: {name} must be a floating array, got dtype {a.dtype}")
    return a


def check_upstream(dy, like_shape, name: str, who: str):
    """The upstream gradient of an output must have that output's shape and a floating dtype."""
    require_array(dy, name, who)
    if tuple(dy.shape) != tuple(like_shape):
        raise ShapeError(f"{who}.backward: {name} must have the output's shape {tuple(like_shape)}, "
                         f"got {tuple(dy.shape)}")
    if dy.dtype.kind != "f":
        raise DTypeError(f"{who}.backward: {name} must be a floating array, got dtype {dy.dtype}")
    return dy


def check_number(value, name: str, who: str, *, low=None, high=None, low_open: bool = False,
                 high_open: bool = False, integer: bool = False):
    """Refuse a hyper-parameter that is not a real number (or not an integer, with
    ``integer=True``), is NaN or infinite, or lies outside [low, high] (an open end with
    ``low_open``/``high_open``). Returns the value as a Python float (or int)."""
    kinds = (numbers.Integral,) if integer else (numbers.Real,)
    fast = type(value) is int or (type(value) is float and not integer)  # skips the ABC check
    if not fast and (isinstance(value, bool) or not isinstance(value, kinds)):
        want = "an integer" if integer else "a real number"
        raise DTypeError(f"{who}: {name} must be {want}, got {type(value).__name__} {value!r}")
    value = int(value) if integer else float(value)
    lo_bad = low is not None and (value <= low if low_open else value < low)
    hi_bad = high is not None and (value >= high if high_open else value > high)
    if not math.isfinite(value) or lo_bad or hi_bad:
        lo = "(-inf" if low is None else f"{'(' if low_open else '['}{low}"
        hi = "inf)" if high is None else f"{high}{')' if high_open else ']'}"
        raise RangeError(f"{who}: {name} must be a finite number in {lo}, {hi}, got {value!r}")
    return value


def check_choice(value, choices, name: str, who: str):
    """Refuse a setting that is not one of ``choices`` (e.g. a loss's reduction)."""
    if value not in tuple(choices):
        raise RangeError(f"{who}: {name} must be one of {tuple(choices)}, got {value!r}")
    return value


def check_dim(dim, ndim: int, name: str, who: str) -> int:
    """Refuse an axis outside [-ndim, ndim) (as PyTorch's ``dim``); returns it as 0..ndim-1."""
    check_number(dim, name, who, integer=True)
    if not -ndim <= dim < ndim:
        raise ShapeError(f"{who}: {name} must lie in [{-ndim}, {ndim}) for an input with {ndim} dims, got {dim}")
    return dim % ndim


def check_upstream_scalar(dloss, who: str):
    """The upstream gradient of a scalar (a loss): a real number or a 0-d floating array."""
    if hasattr(dloss, "shape"):
        if tuple(dloss.shape) != ():
            raise ShapeError(f"{who}.backward: upstream must be a scalar (the loss is 0-d), got shape "
                             f"{tuple(dloss.shape)}")
        if dloss.dtype.kind not in "fiu":
            raise DTypeError(f"{who}.backward: upstream must be a real number, got dtype {dloss.dtype}")
        return dloss
    return check_number(dloss, "upstream", f"{who}.backward")


# The dtype kinds a loaded value may have for each kind of destination: floats take floats
# of any width (a float64 checkpoint into a float32 model, as PyTorch's copy_), integers
# take integers, booleans booleans; a complex value never becomes real.
_LOADABLE = {"f": "f", "c": "fc", "i": "iu", "u": "iu", "b": "b"}
_NUMBER_KIND = ((bool, "b"), (numbers.Integral, "i"), (numbers.Real, "f"), (numbers.Complex, "c"))


def check_state_value(key: str, value, like, who: str = "load_state_dict"):
    """Refuse copying ``value`` (an array, or a Python number for a 0-d entry) into the array
    ``like`` (a parameter, buffer or optimizer state) when its dtype kind does not fit:
    complex, integer, boolean, string or object into a float parameter, and so on.
    Returns ``value``.

    Raises:
        CheckpointError: naming ``key``, the parameter's dtype and the given dtype.
    """
    if hasattr(value, "dtype") and hasattr(value, "shape"):
        kind, given = value.dtype.kind, value.dtype
    elif isinstance(value, numbers.Number):
        kind = next(k for t, k in _NUMBER_KIND if isinstance(value, t))
        given = type(value).__name__
    else:
        raise CheckpointError(f"{who}: {key!r} must be an array, got {type(value).__name__}")
    want = like.dtype
    if kind not in _LOADABLE.get(want.kind, want.kind):
        kinds = {"f": "a floating", "c": "a floating or complex", "i": "an integer", "u": "an integer",
                 "b": "a boolean"}
        raise CheckpointError(f"{who}: {key!r} must be {kinds.get(want.kind, str(want))} array (the parameter is "
                              f"{want}), got dtype {given}")
    return value
