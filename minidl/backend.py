"""Array backends: NumPy always, CuPy when it is installed and a GPU answers.

Every function in minidl takes its array namespace from its inputs::

    xp = get_array_module(x)      # numpy for host arrays, cupy for device arrays
    y = xp.tanh(x)

so the same code runs on the CPU and the GPU, and nothing is copied between host and
device unless a line says so (:func:`to_device`, :func:`asnumpy`). Layer code never
names NumPy: this module and the host-side modules (``data/``, ``metrics``, ``plot``,
``serialization``, ``distributed``) are the only ones that import it (ruff's banned-api
rule and ``tests/test_layering.py`` enforce it), and host arrays for layer code come from
the helpers here (:func:`host_full`, :func:`host_rng`, :func:`new_host_rng`), never from
``backend.numpy``.

Besides ``"cpu"`` and ``"cuda"``, further devices can be registered with
:func:`register_device`. The test suite registers a strict stand-in for CuPy this way, so
that a host/device leak fails on a machine without a GPU.
"""

from __future__ import annotations

import base64
import contextlib
import functools
import json
import os
from dataclasses import dataclass
from typing import Any, Callable

import numpy

from .errors import DeviceError, DTypeError, RangeError

try:  # pragma: no cover - depends on the machine
    import cupy  # type: ignore

    try:
        _CUPY_OK = bool(cupy.is_available())
    except Exception:
        _CUPY_OK = False
except Exception:  # ImportError, or a broken CUDA install
    cupy = None
    _CUPY_OK = False

# the stand-ins ``cupy.fuse`` passes to a function while it traces it into one kernel
_FUSION_VARIABLES: tuple = ()
if cupy is not None:  # pragma: no cover - depends on the machine
    try:
        from cupy._core import _fusion_interface, fusion

        _FUSION_VARIABLES = (fusion._FusionVarScalar, _fusion_interface._VariableProxy)
    except Exception:  # another CuPy version: fused functions then run ufunc by ufunc
        _FUSION_VARIABLES = ()

__all__ = [
    "MAX_SEED",
    "numpy",
    "cupy",
    "cuda_available",
    "get_array_module",
    "device_of",
    "to_device",
    "asnumpy",
    "register_device",
    "get_default_dtype",
    "set_default_dtype",
    "default_dtype",
    "manual_seed",
    "get_rng",
    "get_rng_state",
    "set_rng_state",
    "host_rng",
    "new_host_rng",
    "host_full",
    "errstate",
    "fuse",
    "compile_loop",
    "compiled_loops",
    "compiled_loops_for",
    "compiled_loops_status",
]


def cuda_available() -> bool:
    """True when CuPy imports and ``cupy.is_available()`` says a GPU answers."""
    return _CUPY_OK


# ----------------------------------------------------------------------------- devices
@dataclass(frozen=True)
class _Device:
    name: str
    namespace: Any  # the array module: numpy, cupy, or a registered stand-in
    array_type: type
    to_device: Callable[[Any], Any]  # host (numpy) array -> this device
    to_host: Callable[[Any], Any]  # this device's array -> numpy array


_DEVICES: dict[str, _Device] = {
    "cpu": _Device("cpu", numpy, numpy.ndarray, lambda a: numpy.asarray(a), lambda a: a),
}
if cupy is not None:  # pragma: no cover - depends on the machine
    _DEVICES["cuda"] = _Device("cuda", cupy, cupy.ndarray, cupy.asarray, cupy.asnumpy)


def register_device(name: str, namespace: Any, array_type: type, to_device, to_host) -> None:
    """Make ``name`` a device: arrays of ``array_type`` live there and use ``namespace``.

    ``to_device(numpy_array)`` copies a host array there; ``to_host(array)`` copies back.
    Used by the test suite's strict CuPy stand-in; a user rarely needs it.
    """
    _DEVICES[name] = _Device(name, namespace, array_type, to_device, to_host)


def _device_of_array(a) -> _Device | None:
    for dev in _DEVICES.values():
        if dev.name != "cpu" and isinstance(a, dev.array_type):
            return dev
    return None


# --8<-- [start:get_array_module]
def get_array_module(*arrays):
    """The array namespace of the arguments: ``numpy``, ``cupy`` or a registered one.

    Non-array arguments (``None``, Python numbers) are ignored; with no device array among
    the arguments the answer is ``numpy``.
    """
    for a in arrays:
        if type(a) is numpy.ndarray:  # the common case, decided without walking the registry
            continue
        dev = _device_of_array(a)
        if dev is not None:
            return dev.namespace
        if _FUSION_VARIABLES and isinstance(a, _FUSION_VARIABLES):
            return cupy  # inside a function that cupy.fuse is tracing
    return numpy
# --8<-- [end:get_array_module]


def device_of(a) -> str:
    """The device name of an array: ``"cpu"``, ``"cuda"`` or a registered name."""
    dev = _device_of_array(a)
    return "cpu" if dev is None else dev.name


def _lookup(device: str) -> _Device:
    device = str(device)
    if device.startswith("cuda") and "cuda" not in _DEVICES:
        raise RuntimeError(
            "device 'cuda' asked for, but CuPy is not installed or no GPU answers; "
            "install the extra matching your CUDA (pip install -e '.[cuda12]' or '.[cuda13]')"
        )
    if device.startswith("cuda"):
        device = "cuda"
    if device not in _DEVICES:
        raise DeviceError(f"unknown device {device!r}; expected one of {sorted(_DEVICES)}")
    if device == "cuda" and not _CUPY_OK:  # pragma: no cover
        raise RuntimeError("CuPy is installed but cupy.is_available() is False: no GPU answers")
    return _DEVICES[device]


# --8<-- [start:to_device]
def asnumpy(a):
    """Copy an array to the host as a NumPy array (a no-op for NumPy arrays)."""
    dev = _device_of_array(a)
    if dev is None:
        return numpy.asarray(a)
    return dev.to_host(a)


def to_device(a, device: str):
    """Return ``a`` on ``device`` (``"cpu"``, ``"cuda"``, ...), copying only if it moves."""
    target = _lookup(device)
    if device_of(a) == target.name:
        return a
    host = asnumpy(a)
    return host if target.name == "cpu" else target.to_device(host)
# --8<-- [end:to_device]


def errstate(xp, **settings):
    """``with errstate(xp, over="ignore"):`` NumPy's floating-point error handling inside the
    block (``numpy.errstate``), for code that runs on namespace ``xp``.

    CuPy's kernels raise no floating-point warnings, so for CuPy this is a no-op context;
    a registered stand-in computes with NumPy underneath and gets NumPy's. Entering it costs
    about as much as one ufunc call: enter it once around a loop, not once per step.
    """
    if cupy is not None and xp is cupy:  # pragma: no cover - needs CuPy
        return contextlib.nullcontext()
    return numpy.errstate(**settings)


# --8<-- [start:fuse]
def fuse(func):
    """Decorator: ``func`` runs as **one** fused elementwise kernel on CuPy arrays
    (``cupy.fuse``), and as itself, ufunc call by ufunc call, on anything else.

    One source for both: ``func`` takes arrays of one shape (or broadcastable), gets its
    namespace with ``xp = get_array_module(a)``, calls only ``xp`` ufuncs and arithmetic
    (no indexing, no branching on values), and writes its results into its arguments, in
    place or with ``out=`` (what it returns, the kernel allocates as a new array). On the GPU
    ten such ufunc calls are one kernel launch instead of ten; on NumPy they stay the same ten
    calls. The undecorated function is ``fused.plain``.
    """
    if cupy is None:
        func.plain = func
        return func
    fused = cupy.fuse(func)

    @functools.wraps(func)
    def run(*args):
        if type(args[0]) is not numpy.ndarray and any(isinstance(a, cupy.ndarray) for a in args):
            return fused(*args)
        return func(*args)

    run.plain = func
    run.fused = fused
    return run
# --8<-- [end:fuse]


# --8<-- [start:compile_loop]
_LOOPS: dict = {"on": None, "why": ""}  # found on first use: numba there, and not switched off


def compiled_loops() -> bool:
    """Whether :func:`compile_loop` functions run compiled: numba can be imported and the
    environment variable ``MINIDL_COMPILED_LOOPS`` is not ``0``. Unset, a missing or broken
    numba means no (quietly: the ufunc calls give the same numbers); ``1`` makes it an error."""
    if _LOOPS["on"] is None:
        setting = os.environ.get("MINIDL_COMPILED_LOOPS", "").strip()
        if setting not in ("", "0", "1"):
            raise RangeError(f"MINIDL_COMPILED_LOOPS must be 0 or 1 (or unset), got {setting!r}")
        if setting == "0":
            _LOOPS.update(on=False, why="switched off (MINIDL_COMPILED_LOOPS=0)")
        else:
            try:
                import numba  # noqa: F401 - only to see that it imports
            except Exception as e:  # ImportError, or a numba that refuses this NumPy
                if setting == "1":
                    raise DeviceError(f"MINIDL_COMPILED_LOOPS=1, but numba cannot be imported: {e}") from e
                _LOOPS.update(on=False, why=f"numba not importable ({type(e).__name__}: {e})")
            else:
                _LOOPS.update(on=True, why=f"numba {numba.__version__}")
    return _LOOPS["on"]


def compiled_loops_for(a) -> bool:
    """:func:`compile_loop` functions may run on ``a``: it is a NumPy array and they compile."""
    return type(a) is numpy.ndarray and compiled_loops()


def compiled_loops_status() -> str:
    """One line for benchmark logs: ``"numba 0.68.1"``, or why the loops run as ufunc calls."""
    return _LOOPS["why"] if compiled_loops() else "off: " + _LOOPS["why"]


def compile_loop(func):
    """Decorator: ``func``, a loop over the elements of host arrays written in plain Python,
    is compiled to machine code by numba (``numba.njit``) the first time it runs; the Python
    function itself is ``compiled.plain``. Callers run it only where :func:`compiled_loops`
    says yes and the arrays are NumPy's, and otherwise call the ufuncs it stands for.

    Compiled without numba's fast-math, every ``+``, ``*`` and ``−`` is the same IEEE operation
    a NumPy ufunc makes, rounded the same way, so a loop that does a function's operations in
    its order gives its numbers bit for bit. ``error_model="numpy"``: a division by zero gives
    inf as NumPy's does, instead of a check that keeps the compiler from vectorising the loop.
    A loop compiles in about a quarter of a second the first time it runs; numba keeps the
    machine code on disk (``cache=True``: in ``__pycache__`` beside the module, as Python keeps
    its bytecode, or in the user's cache folder where that is read-only), so later processes
    load it in milliseconds: the ranks of a run, the next run. Where numba finds nowhere to
    write, it compiles in every process.
    """
    state: dict = {}

    @functools.wraps(func)
    def run(*args):
        if "jit" not in state:
            import numba

            try:
                state["jit"] = numba.njit(func, error_model="numpy", nogil=True, cache=True)
            except RuntimeError:  # "no locator available": no folder to keep the code in
                state["jit"] = numba.njit(func, error_model="numpy", nogil=True, cache=False)
        return state["jit"](*args)

    run.plain = func
    return run
# --8<-- [end:compile_loop]


# ----------------------------------------------------------------------------- dtypes
_DEFAULT_DTYPE = numpy.dtype(numpy.float32)


def get_default_dtype():
    """The floating dtype new parameters and data are made with (float32 unless changed)."""
    return _DEFAULT_DTYPE


def set_default_dtype(dtype) -> None:
    """Set the default floating dtype: float32 (speed) or float64 (gradient checks)."""
    global _DEFAULT_DTYPE
    dtype = numpy.dtype(dtype)
    if dtype not in (numpy.dtype(numpy.float32), numpy.dtype(numpy.float64)):
        raise DTypeError(f"default dtype must be float32 or float64, got {dtype}")
    _DEFAULT_DTYPE = dtype


@contextlib.contextmanager
def default_dtype(dtype):
    """``with default_dtype(numpy.float64): ...`` builds float64 layers inside the block."""
    old = get_default_dtype()
    set_default_dtype(dtype)
    try:
        yield
    finally:
        set_default_dtype(old)


# ----------------------------------------------------------------------------- randomness
# One NumPy generator draws everything random on the host (initial weights, shuffling).
# Each device namespace gets its own generator, seeded from the same seed, so dropout masks
# are drawn where the activations live and no mask crosses the bus.
_SEED = 0
_RNGS: dict[int, Any] = {}

#: the largest seed: checkpoints store the seed as a signed 64-bit integer
MAX_SEED = 2**63 - 1


def manual_seed(seed: int) -> None:
    """Seed every generator minidl uses (host and devices), like ``torch.manual_seed``.
    ``seed`` is an integer in ``[0, MAX_SEED]``."""
    global _SEED
    if isinstance(seed, bool) or not isinstance(seed, (int, numpy.integer)) or not 0 <= seed <= MAX_SEED:
        raise RangeError(f"seed must be an integer in [0, 2**63 - 1], got {seed!r}")
    _SEED = int(seed)
    _RNGS.clear()


def get_rng(xp=numpy):
    """The generator for namespace ``xp`` (``numpy.random.Generator`` or CuPy's)."""
    key = id(xp)
    if key not in _RNGS:
        _RNGS[key] = xp.random.default_rng(_SEED)
    return _RNGS[key]


def host_rng():
    """The host (NumPy) generator: weight initialisation, shuffling, data augmentation."""
    return get_rng(numpy)


def new_host_rng(seed):
    """A fresh host generator of its own, seeded with ``seed`` (an int, or a sequence of
    ints naming a stream), leaving minidl's generators alone (``gradcheck`` draws its
    directions from one, the same numbers on every device)."""
    return numpy.random.default_rng(seed)


def host_full(shape, fill_value, dtype=None):
    """A host array of ``shape`` filled with ``fill_value``, of ``dtype`` (default: the
    default float dtype); parameters and buffers start on the host, as the weights do."""
    return numpy.full(shape, fill_value, dtype=dtype or _DEFAULT_DTYPE)


def _generator_state(gen):
    """A JSON-able copy of one generator's state, or None when it cannot be read.

    NumPy's generators (and the strict CuPy stand-in's) expose ``bit_generator.state``, a
    dict. CuPy's expose no state API: their cuRAND states live in device memory, in the
    private int8 array ``bit_generator._state``, whose bytes are copied (base64). That path
    follows CuPy's source and has not been run on a GPU here; if a CuPy release renames the
    attribute, nothing is saved and a resume says that the device generator restarts from
    the seed."""
    bits = gen.bit_generator
    state = getattr(bits, "state", None)
    if isinstance(state, dict):
        return {"state": state}
    raw = getattr(bits, "_state", None)
    if raw is not None and hasattr(raw, "dtype"):
        return {"raw": base64.b64encode(numpy.ascontiguousarray(asnumpy(raw)).tobytes()).decode("ascii")}
    return None


def _set_generator_state(gen, state: dict) -> bool:
    """Restore :func:`_generator_state`; False when it does not fit this generator (a GPU
    with another number of cuRAND states, another CuPy)."""
    bits = gen.bit_generator
    if "state" in state:
        bits.state = state["state"]
        return True
    raw = numpy.frombuffer(base64.b64decode(state["raw"]), dtype=numpy.int8)
    target = getattr(bits, "_state", None)
    if target is None or not hasattr(target, "dtype") or raw.size != target.size:
        return False
    target[...] = get_array_module(target).asarray(raw)
    return True


def get_rng_state() -> str:
    """The state of every generator minidl has drawn from, as a JSON string (to store in a
    checkpoint): the seed, the host generator, and each device's generator (CuPy's too), so
    a resumed run draws the very dropout masks it would have drawn."""
    devices = {}
    for name, dev in _DEVICES.items():
        gen = _RNGS.get(id(dev.namespace))
        state = _generator_state(gen) if gen is not None and dev.namespace is not numpy else None
        if state is not None:
            devices[name] = state
    return json.dumps({"seed": _SEED, "host": host_rng().bit_generator.state, "devices": devices})


def set_rng_state(state: str) -> list[str]:
    """Restore what :func:`get_rng_state` returned. Returns the devices whose generator
    could not be restored (absent here, or of another size): they start again from the seed."""
    s = json.loads(str(state))
    manual_seed(s["seed"])
    host_rng().bit_generator.state = s["host"]
    missed = []
    for name, gen_state in s.get("devices", {}).items():
        dev = _DEVICES.get(name)
        if dev is None or not _set_generator_state(get_rng(dev.namespace), gen_state):
            missed.append(name)
    return missed
