"""Parameters, modules and the contract every layer keeps.

The contract (see the "layer contract" chapter of the docs):

* ``forward(*inputs)`` computes the outputs and, while gradients are wanted (not inside
  :func:`no_grad`), pushes what its backward needs onto the module's **cache stack**.
* ``backward(*grad_outputs)`` pops the newest cache, returns the gradient of each input
  and **adds** (``+=``) into every ``Parameter.grad``. It receives one upstream gradient
  per output, in the order the outputs are returned (nested tuples flattened), e.g.
  ``LSTM.backward(d_output, d_h_n, d_c_n)``.
* A module called ``k`` times before its backward holds ``k`` caches; ``k`` backward
  calls pop them last call first. That is back-propagation through time for a cell
  stepped in a plain Python loop, and weight sharing for a layer used twice.

There is no autograd: composite modules (``Sequential``, the models) write their backward
by calling their children's backward in reverse order.
"""

from __future__ import annotations

import contextlib
from collections import OrderedDict
from typing import Any, Iterator

from . import backend
from .checks import check_state_value
from .errors import CheckpointError, DTypeError

__all__ = ["Parameter", "Module", "Sequential", "no_grad", "is_grad_enabled", "set_grad_enabled"]

_GRAD_ENABLED = True


def is_grad_enabled() -> bool:
    """False inside ``with no_grad():`` — layers then keep no caches."""
    return _GRAD_ENABLED


def set_grad_enabled(mode: bool) -> None:
    """Switch caching for backward on or off globally (``no_grad`` does it for a block)."""
    global _GRAD_ENABLED
    _GRAD_ENABLED = bool(mode)


@contextlib.contextmanager
def no_grad():
    """Inference: inside this block no layer keeps a cache, so memory does not grow."""
    old = is_grad_enabled()
    set_grad_enabled(False)
    try:
        yield
    finally:
        set_grad_enabled(old)


class Parameter:
    """A trainable array and the gradient accumulated for it.

    Attributes:
        data: the values, any shape, on the module's device.
        grad: same shape and device as ``data``; backward passes add (``+=``) into it.
    """

    def __init__(self, data):
        self.data = data
        xp = backend.get_array_module(data)
        self.grad = xp.zeros_like(data)

    @property
    def shape(self):
        return self.data.shape

    @property
    def dtype(self):
        return self.data.dtype

    def zero_grad(self) -> None:
        """Set the accumulated gradient to zero (in place; the buffer is kept)."""
        self.grad[...] = 0

    def _set(self, data) -> None:
        """Replace the values (new device or dtype) and reset the gradient to match."""
        self.data = data
        xp = backend.get_array_module(data)
        self.grad = xp.zeros_like(data)

    def __repr__(self) -> str:
        return f"Parameter(shape={tuple(self.data.shape)}, dtype={self.data.dtype})"


def _flatten(obj) -> list:
    """Leaves of nested tuples/lists, in order (``(out, (h, c))`` -> ``[out, h, c]``)."""
    if isinstance(obj, (tuple, list)):
        out = []
        for o in obj:
            out.extend(_flatten(o))
        return out
    return [obj]


def _fitting_value(key: str, value, current):
    """``value`` as a fresh array of ``current``'s shape, dtype and device, or a
    CheckpointError naming ``key`` (see :meth:`Module.load_state_dict`)."""
    check_state_value(key, value, current)
    shape = tuple(getattr(value, "shape", ()))
    if shape != tuple(current.shape):
        raise CheckpointError(f"load_state_dict: {key!r} expected shape {tuple(current.shape)}, got {shape}")
    new = backend.to_device(value, backend.device_of(current))
    return backend.get_array_module(current).array(new, dtype=current.dtype, copy=True)


class Module:
    """Base class of every layer and model.

    Subclasses set parameters and sub-modules as attributes (registration is automatic),
    implement ``forward`` and ``backward``, and use :meth:`save_for_backward` /
    :meth:`saved` for the cache stack. ``__call__`` is ``forward``.
    """

    def __init__(self):
        object.__setattr__(self, "_parameters", OrderedDict())
        object.__setattr__(self, "_modules", OrderedDict())
        object.__setattr__(self, "_buffers", OrderedDict())
        object.__setattr__(self, "_caches", [])
        object.__setattr__(self, "training", True)

    # ------------------------------------------------------------------ registration
    def __setattr__(self, name: str, value: Any) -> None:
        if "_parameters" not in self.__dict__:
            raise AttributeError(f"{type(self).__name__}.__init__ must call super().__init__() first")
        if name in self._buffers and not isinstance(value, (Parameter, Module)):
            # reassigning a buffer (self.running_mean = ...) keeps it a buffer
            object.__setattr__(self, name, value)
            return
        for d in (self._parameters, self._modules, self._buffers):
            d.pop(name, None)
        if isinstance(value, Parameter):
            self._parameters[name] = value
        elif isinstance(value, Module):
            self._modules[name] = value
        object.__setattr__(self, name, value)

    def register_buffer(self, name: str, value) -> None:
        """A state array that is saved and moved with the module but not trained
        (BatchNorm's running statistics)."""
        object.__setattr__(self, name, value)
        self._buffers[name] = True

    def _set_buffer(self, name: str, value) -> None:
        object.__setattr__(self, name, value)

    def named_children(self) -> Iterator[tuple[str, "Module"]]:
        """``(name, module)`` for each direct sub-module, in registration order."""
        yield from self._modules.items()

    def children(self) -> Iterator["Module"]:
        """The direct sub-modules."""
        for _, m in self.named_children():
            yield m

    def named_modules(self, prefix: str = "") -> Iterator[tuple[str, "Module"]]:
        """``(dotted name, module)`` for this module (name ``""``) and every descendant."""
        yield prefix, self
        for name, m in self._modules.items():
            yield from m.named_modules(f"{prefix}.{name}" if prefix else name)

    def modules(self) -> Iterator["Module"]:
        """This module and every descendant."""
        for _, m in self.named_modules():
            yield m

    def named_parameters(self, prefix: str = "") -> Iterator[tuple[str, Parameter]]:
        """``("encoder.weight_ih_l0", Parameter)`` pairs, dotted like PyTorch."""
        for name, p in self._parameters.items():
            yield (f"{prefix}.{name}" if prefix else name), p
        for name, m in self._modules.items():
            yield from m.named_parameters(f"{prefix}.{name}" if prefix else name)

    def parameters(self) -> list[Parameter]:
        """Every Parameter of the tree, in the order of :meth:`named_parameters`."""
        return [p for _, p in self.named_parameters()]

    def named_buffers(self, prefix: str = "") -> Iterator[tuple[str, Any]]:
        """``(dotted name, array)`` for every buffer (e.g. ``bn1.running_mean``)."""
        for name in self._buffers:
            yield (f"{prefix}.{name}" if prefix else name), getattr(self, name)
        for name, m in self._modules.items():
            yield from m.named_buffers(f"{prefix}.{name}" if prefix else name)

    # ------------------------------------------------------------------ the cache stack
    # --8<-- [start:cache_stack]
    def save_for_backward(self, cache) -> None:
        """Push what this call's backward needs (nothing is kept under ``no_grad``)."""
        if _GRAD_ENABLED:
            self._caches.append(cache)

    def saved(self):
        """Pop the newest cache: backward undoes the calls last call first."""
        if not self._caches:
            raise RuntimeError(
                f"{type(self).__name__}.backward called with no forward cache left: call forward "
                "(outside no_grad()) once for every backward"
            )
        return self._caches.pop()
    # --8<-- [end:cache_stack]

    def accumulate_grads(self, grads: dict) -> None:
        """Add a functional backward's gradients into this module's own parameters.

        ``grads`` is keyed like the module's parameters (``"weight"``, ``"bias_ih_l0"``, ...);
        keys that name no parameter of this module (``"x"``, ``"h0"``) are inputs and skipped.
        """
        for name, g in grads.items():
            p = self._parameters.get(name)
            if p is not None:
                p.grad += g

    def clear_caches(self) -> None:
        """Drop every cache kept by this module and its children (e.g. after a forward whose
        backward will never come)."""
        for m in self.modules():
            m._caches.clear()

    # ------------------------------------------------------------------ calling
    def forward(self, *args, **kwargs):  # pragma: no cover - abstract
        raise NotImplementedError

    def backward(self, *grad_outputs):  # pragma: no cover - abstract
        raise NotImplementedError(f"{type(self).__name__} has no backward")

    def __call__(self, *args, **kwargs):
        return self.forward(*args, **kwargs)

    # ------------------------------------------------------------------ modes and grads
    def train(self, mode: bool = True) -> "Module":
        """Set training mode (dropout active, BatchNorm batch statistics) on the whole tree."""
        for m in self.modules():
            object.__setattr__(m, "training", bool(mode))
        return self

    def eval(self) -> "Module":
        """Evaluation mode: dropout is the identity, BatchNorm uses its running statistics."""
        return self.train(False)

    def zero_grad(self) -> None:
        """Zero every parameter's gradient (backward passes add into them)."""
        for p in self.parameters():
            p.zero_grad()

    # ------------------------------------------------------------------ state
    def state_dict(self) -> "OrderedDict[str, Any]":
        """Parameter and buffer arrays by dotted name (arrays stay on their device)."""
        sd = OrderedDict()
        for name, p in self.named_parameters():
            sd[name] = p.data
        for name, b in self.named_buffers():
            sd[name] = b
        return sd

    def load_state_dict(self, state_dict, strict: bool = True) -> None:
        """Copy arrays (NumPy, or the module's device) into the parameters and buffers.

        Raises ``KeyError`` naming missing or unexpected keys (when ``strict``) and
        :class:`~minidl.errors.CheckpointError` (a ``ValueError``) naming the key when a value
        is not an array, has another shape than the module's, or has a dtype that does not
        fit (:func:`minidl.checks.check_state_value`): a floating parameter takes any real
        floating array (cast to its dtype, as PyTorch's ``copy_`` does), an integer buffer
        any integer array; complex, integer, boolean or object values for a floating entry
        are refused, never cast.
        A PyTorch ``state_dict`` converted with ``{k: v.numpy() for k, v in sd.items()}``
        loads as is for the layers minidl shares with PyTorch.
        """
        own = {name: ("param", p) for name, p in self.named_parameters()}
        owners = {}
        for mod_name, m in self.named_modules():
            for b in m._buffers:
                key = f"{mod_name}.{b}" if mod_name else b
                own[key] = ("buffer", None)
                owners[key] = (m, b)
        given = set(state_dict)
        missing = sorted(set(own) - given)
        unexpected = sorted(given - set(own))
        if strict and (missing or unexpected):
            raise KeyError(f"load_state_dict: missing keys {missing}, unexpected keys {unexpected}")
        for key in own:
            if key not in state_dict:
                continue
            kind, p = own[key]
            current = p.data if kind == "param" else getattr(*owners[key])
            new = _fitting_value(key, state_dict[key], current)
            if kind == "param":
                p._set(new)
            else:
                m, b = owners[key]
                m._set_buffer(b, new)

    # ------------------------------------------------------------------ device and dtype
    def _apply(self, fn) -> "Module":
        for m in self.modules():
            for p in m._parameters.values():
                p._set(fn(p.data))
            for b in m._buffers:
                m._set_buffer(b, fn(getattr(m, b)))
            m._caches.clear()
        return self

    def to(self, device: str) -> "Module":
        """Move every parameter and buffer to ``device`` ("cpu", "cuda"); returns self."""
        return self._apply(lambda a: backend.to_device(a, device))

    def _cast_floats(self, dtype) -> "Module":
        def cast(a):
            return a.astype(dtype) if a.dtype.kind == "f" else a

        return self._apply(cast)

    def double(self) -> "Module":
        """Cast floating parameters and buffers to float64 (for gradient checks)."""
        return self._cast_floats("float64")

    def float(self) -> "Module":
        """Cast floating parameters and buffers to float32."""
        return self._cast_floats("float32")

    @property
    def device(self) -> str:
        for p in self.parameters():
            return backend.device_of(p.data)
        return "cpu"

    # ------------------------------------------------------------------ printing
    def extra_repr(self) -> str:
        return ""

    def __repr__(self) -> str:
        head = f"{type(self).__name__}({self.extra_repr()}"
        if not self._modules:
            return head + ")"
        lines = [head]
        for name, m in self._modules.items():
            child = repr(m).replace("\n", "\n  ")
            lines.append(f"  ({name}): {child}")
        return "\n".join(lines) + "\n)"


class Sequential(Module):
    """Modules applied in order; backward runs them in reverse.

    ``Sequential(Linear(3, 4), ReLU())`` names its children ``"0"``, ``"1"``, ... as
    PyTorch does, so ``state_dict`` keys read ``0.weight``, ``0.bias``.
    """

    def __init__(self, *layers: Module):
        super().__init__()
        for i, layer in enumerate(layers):
            if not isinstance(layer, Module):
                raise DTypeError(f"Sequential: layers must be Modules, got {type(layer).__name__} at position {i}")
            setattr(self, str(i), layer)

    def __len__(self) -> int:
        return len(self._modules)

    def __getitem__(self, i: int) -> Module:
        return list(self._modules.values())[i]

    def __iter__(self):
        return iter(self._modules.values())

    # --8<-- [start:sequential]
    def forward(self, x):
        for layer in self._modules.values():
            x = layer(x)
        return x

    def backward(self, grad):
        for layer in reversed(self._modules.values()):
            grad = layer.backward(grad)
        return grad
    # --8<-- [end:sequential]
