"""A strict stand-in for CuPy, so the GPU code path is exercised on a CPU-only machine.

``StrictArray`` wraps a NumPy array and refuses what CuPy refuses:

* implicit conversion to NumPy (``numpy.asarray(a)``, ``numpy.exp(a)`` through
  ``__array__``) raises ``TypeError``: the library must call ``backend.asnumpy``;
* mixing with a host ``numpy.ndarray`` in one operation (``a + host``, ``a[host_idx]``,
  ``xp.dot(a, host)``, ``a[...] = host``) raises ``TypeError``: the library must move the
  host array with ``xp.asarray`` first — an explicit, visible copy.

``strict_xp`` is the namespace ``get_array_module`` returns for these arrays: every NumPy
function, applied to unwrapped arrays, its results wrapped again. It is registered as the
device ``"strict"``, so ``model.to("strict")`` works like ``model.to("cuda")``.
Python scalars and NumPy scalars mix freely, as with CuPy. ``float(a)``, ``int(a)`` and
``bool(a)`` work on one-element arrays (CuPy synchronises and allows them too).

**Counting host<->device crossings.** Inside ``with count_transfers() as log:`` every copy
between host and "device" is recorded, with the line of library code that asked for it:

* host to device: ``backend.to_device`` and ``xp.asarray``/``xp.array`` of anything that is
  not already a device array (a NumPy array, a list, a Python number);
* device to host: ``backend.asnumpy``, ``a.get()``, ``xp.asnumpy``, ``a.item()``,
  ``a.tolist()`` and the implicit ones CuPy allows on a one-element array: ``float(a)``,
  ``int(a)``, ``bool(a)`` (an ``if`` on a device value) and ``a.__index__()``. Each of these
  is a synchronisation on a GPU: the host waits for every kernel queued before it.
"""

from __future__ import annotations

import contextlib
import numbers
import os
import traceback
import types
from dataclasses import dataclass, field

import numpy as np
import numpy.lib.mixins

from minidl import backend


class MixedDeviceError(TypeError):
    pass


# ----------------------------------------------------------------------------- transfer log
@dataclass
class TransferLog:
    """The crossings recorded inside one :func:`count_transfers` block, in order.

    ``h2d`` and ``d2h`` are lists of ``(shape, where)``: the shape copied and the innermost
    frame outside this file and ``minidl/backend.py`` (``"minidl/train.py:123 in _train_step"``).
    """

    h2d: list = field(default_factory=list)
    d2h: list = field(default_factory=list)

    def clear(self) -> None:
        self.h2d.clear()
        self.d2h.clear()

    def summary(self) -> str:
        """One line per crossing, for an assertion message."""
        lines = [f"  host->device {shape} at {where}" for shape, where in self.h2d]
        lines += [f"  device->host {shape} at {where}" for shape, where in self.d2h]
        return "\n".join(lines) or "  (none)"


_LOGS: list[TransferLog] = []
_SKIP_FILES = (os.path.abspath(__file__), os.path.join("minidl", "backend.py"))


def _caller() -> str:
    for frame in reversed(traceback.extract_stack()[:-2]):
        if not frame.filename.endswith(_SKIP_FILES) and "contextlib" not in frame.filename:
            parts = frame.filename.replace(os.sep, "/").split("/")
            short = "/".join(parts[parts.index("minidl"):]) if "minidl" in parts else parts[-1]
            return f"{short}:{frame.lineno} in {frame.name}"
    return "?"


def _record(direction: str, shape) -> None:
    if _LOGS:
        where = _caller()
        for log in _LOGS:
            getattr(log, direction).append((tuple(shape), where))


@contextlib.contextmanager
def count_transfers():
    """``with count_transfers() as log:`` record every host<->device crossing of the block."""
    log = TransferLog()
    _LOGS.append(log)
    try:
        yield log
    finally:
        _LOGS.remove(log)


def _to_device(host):
    """host -> device: the explicit copy (``backend.to_device``, ``xp.asarray``)."""
    a = np.array(host, copy=True)
    _record("h2d", a.shape)
    return StrictArray(a)


def _unwrap(obj, allow_host: bool = False):
    """StrictArray -> its ndarray; refuse raw host ndarrays unless explicitly allowed."""
    if isinstance(obj, StrictArray):
        return obj._a
    if isinstance(obj, np.ndarray) and not allow_host:
        if obj.ndim == 0:  # a NumPy 0-d array behaves like a scalar in CuPy too
            return obj
        raise MixedDeviceError(
            f"host numpy.ndarray of shape {obj.shape} used with a device array: "
            "move it explicitly (xp.asarray) first"
        )
    if isinstance(obj, (list, tuple)):
        return type(obj)(_unwrap(o, allow_host) for o in obj)
    if isinstance(obj, dict):
        return {k: _unwrap(v, allow_host) for k, v in obj.items()}
    if isinstance(obj, slice):
        return obj
    return obj


def _wrap(obj):
    if isinstance(obj, np.ndarray):
        return StrictArray(obj)
    if isinstance(obj, tuple):
        return tuple(_wrap(o) for o in obj)
    if isinstance(obj, list):
        return [_wrap(o) for o in obj]
    if isinstance(obj, np.generic) and not isinstance(obj, (np.str_, np.bytes_)):
        # CuPy reductions return 0-d device arrays, not host scalars
        return StrictArray(np.asarray(obj))
    if isinstance(obj, (np.random.Generator, np.ufunc)) or callable(obj) and not isinstance(obj, type):
        return _Proxy(obj)
    return obj


class _Proxy:
    """Wraps a NumPy function, ufunc, submodule or Generator: unwraps arguments (refusing
    host arrays), wraps results."""

    def __init__(self, target, allow_host=False):
        object.__setattr__(self, "_t", target)
        object.__setattr__(self, "_allow_host", allow_host)

    def __getattr__(self, name):
        attr = getattr(self._t, name)
        if isinstance(attr, (types.ModuleType, np.ufunc, np.random.Generator)) or callable(attr):
            if isinstance(attr, type) and issubclass(attr, np.generic):
                return attr  # dtypes such as xp.float32
            return _Proxy(attr)
        return attr

    def __setattr__(self, name, value):
        setattr(self._t, name, _unwrap(value, allow_host=True))

    def __call__(self, *args, **kwargs):
        return _wrap(self._t(*_unwrap(args, self._allow_host), **_unwrap(kwargs, self._allow_host)))

    def __repr__(self):
        return f"strict<{self._t!r}>"


class StrictArray(numpy.lib.mixins.NDArrayOperatorsMixin):
    """A device array for tests: a NumPy array that will not leak to or mix with the host."""

    __slots__ = ("_a",)

    def __init__(self, a):
        object.__setattr__(self, "_a", np.asarray(a))

    # --- what CuPy refuses
    def __array__(self, dtype=None, copy=None):
        raise TypeError(
            "implicit conversion of a device array to NumPy; use minidl.backend.asnumpy(a) "
            "(CuPy raises here too)"
        )

    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        inputs = _unwrap(inputs)
        if "out" in kwargs:
            kwargs["out"] = _unwrap(kwargs["out"])
        return _wrap(getattr(ufunc, method)(*inputs, **kwargs))

    def __array_function__(self, func, types_, args, kwargs):
        return _wrap(func(*_unwrap(args), **_unwrap(kwargs)))

    # --- array protocol used by library code
    @property
    def shape(self):
        return self._a.shape

    @property
    def dtype(self):
        return self._a.dtype

    @property
    def ndim(self):
        return self._a.ndim

    @property
    def size(self):
        return self._a.size

    @property
    def T(self):
        return StrictArray(self._a.T)

    def __len__(self):
        return len(self._a)

    def __iter__(self):
        for row in self._a:
            yield _wrap(row)

    def __getitem__(self, idx):
        return _wrap(self._a[_unwrap(idx)])

    def __setitem__(self, idx, value):
        if isinstance(value, np.ndarray) and value.ndim > 0:
            raise MixedDeviceError("assigning a host numpy.ndarray into a device array; use xp.asarray first")
        self._a[_unwrap(idx)] = _unwrap(value)

    # --- device-to-host copies CuPy allows (each synchronises the GPU): recorded
    def __float__(self):
        _record("d2h", self.shape)
        return float(self._a)

    def __int__(self):
        _record("d2h", self.shape)
        return int(self._a)

    def __index__(self):
        _record("d2h", self.shape)
        return self._a.__index__()

    def __bool__(self):
        _record("d2h", self.shape)
        return bool(self._a)

    def item(self):
        _record("d2h", self.shape)
        return self._a.item()

    def tolist(self):
        _record("d2h", self.shape)
        return self._a.tolist()

    def __repr__(self):
        return f"StrictArray({self._a!r})"

    def __getattr__(self, name):
        if name.startswith("__"):
            # never expose __array_interface__/__array_struct__/__dlpack__: through them
            # NumPy would read the data without asking, which is what CuPy forbids
            raise AttributeError(name)
        attr = getattr(self._a, name)
        if callable(attr):
            return _Proxy(attr)
        if isinstance(attr, np.ndarray):
            return StrictArray(attr)
        return attr

    def get(self):
        """Explicit device-to-host copy, as ``cupy.ndarray.get()``."""
        _record("d2h", self.shape)
        return self._a.copy()

    def __reduce__(self):
        raise TypeError("device arrays are not pickled")


class _StrictNamespace(_Proxy):
    """``strict_xp``: NumPy's functions on StrictArrays. ``asarray``/``array`` accept host
    arrays (that is the explicit host-to-device copy); ``asnumpy`` copies back."""

    def __init__(self):
        super().__init__(np)

    def asarray(self, a, dtype=None, **kw):
        on_device = isinstance(a, StrictArray) or (
            isinstance(a, (list, tuple)) and any(isinstance(e, StrictArray) for e in a))
        if on_device:  # already on the device: a device-side copy at most
            return StrictArray(np.array(_unwrap(a, allow_host=True), dtype=dtype, copy=True))
        return _to_device(np.asarray(a, dtype=dtype))

    def array(self, a, dtype=None, copy=True, **kw):
        return self.asarray(a, dtype=dtype)

    def asnumpy(self, a):
        return a.get() if isinstance(a, StrictArray) else np.asarray(a)

    @property
    def ndarray(self):
        return StrictArray

    @property
    def random(self):
        return _Proxy(np.random)

    @property
    def lib(self):
        return _Proxy(np.lib)


strict_xp = _StrictNamespace()

backend.register_device(
    "strict",
    strict_xp,
    StrictArray,
    to_device=_to_device,
    to_host=lambda a: a.get(),
)


def is_number(x) -> bool:
    return isinstance(x, numbers.Number)
