"""Activation layers (maths in :mod:`minidl.functional.activations`). Shapes: any -> same.

Input dtypes follow PyTorch: ``Tanh`` and ``Sigmoid`` turn an integer or boolean input
into the default float dtype (their outputs are fractions), ``ReLU`` keeps integers and
refuses booleans, ``Softmax`` and ``LogSoftmax`` need a floating input.
"""

from __future__ import annotations

from ..backend import get_array_module, get_default_dtype
from ..checks import check_dim, check_upstream, require_array
from ..errors import DTypeError
from ..functional.activations import (
    log_softmax_backward,
    log_softmax_forward,
    relu_backward,
    relu_forward,
    relu_inplace_forward,
    sigmoid_backward,
    sigmoid_forward,
    softmax_backward,
    softmax_forward,
    tanh_backward,
    tanh_forward,
)
from ..module import Module

__all__ = ["ReLU", "Tanh", "Sigmoid", "Softmax", "LogSoftmax"]


def _real_input(x, kinds: str, who: str):
    """Refuse what is not an array, or an array whose dtype kind is not in ``kinds``."""
    require_array(x, "input", who)
    if x.dtype.kind not in kinds:
        names = {"f": "floating", "i": "integer", "u": "unsigned", "b": "boolean"}
        allowed = ", ".join(names[k] for k in kinds if k in names)
        raise DTypeError(f"{who}: input must be a {allowed} array, got dtype {x.dtype}")
    return x


def _as_floating(x, who: str):
    """Integers and booleans become the default float dtype, as ``torch.tanh`` does."""
    _real_input(x, "fiub", who)
    return x if x.dtype.kind == "f" else get_array_module(x).asarray(x, dtype=get_default_dtype())


class _Elementwise(Module):
    """The three-line wrap of an elementwise pair ``y, cache = f(x)``, ``{"x": dx} = b(dy, cache)``.

    ``shaped_like`` names the cache field that has the input's shape (the upstream
    gradient must have it too)."""

    shaped_like = "x"

    def _run(self, pair_forward, x):
        y, cache = pair_forward(x)
        self.save_for_backward(cache)
        return y

    def _back(self, pair_backward, dy):
        cache = self.saved()
        check_upstream(dy, getattr(cache, self.shaped_like).shape, "dy", type(self).__name__)
        return pair_backward(dy, cache)["x"]


class ReLU(_Elementwise):
    """y = max(x, 0); backward dx = dy ⊙ [x > 0].

    ``ReLU(inplace=True)`` (as PyTorch's) writes y over its input instead of a new array:
    for a caller that does not use x again, such as the ReLU after a BatchNorm whose output
    nothing else reads. It saves one array the size of x per call (memory, and the time
    fresh memory costs), and keeps one fewer alive until the backward.
    """

    def __init__(self, inplace: bool = False):
        super().__init__()
        self.inplace = bool(inplace)

    def forward(self, x):
        return self._run(relu_inplace_forward if self.inplace else relu_forward, _real_input(x, "fiu", "ReLU"))

    def backward(self, dy):
        return self._back(relu_backward, dy)

    def extra_repr(self) -> str:
        return "inplace=True" if self.inplace else ""


class Tanh(_Elementwise):
    """y = tanh(x); backward dx = dy ⊙ (1 − y²)."""

    shaped_like = "y"

    def forward(self, x):
        return self._run(tanh_forward, _as_floating(x, "Tanh"))

    def backward(self, dy):
        return self._back(tanh_backward, dy)


class Sigmoid(_Elementwise):
    """y = σ(x), exact in both tails; backward dx = dy ⊙ y(1 − y)."""

    shaped_like = "y"

    def forward(self, x):
        return self._run(sigmoid_forward, _as_floating(x, "Sigmoid"))

    def backward(self, dy):
        return self._back(sigmoid_backward, dy)


class _AlongDim(_Elementwise):
    def __init__(self, dim: int = -1):
        super().__init__()
        self.dim = dim

    def _along(self, pair_forward, x):
        who = type(self).__name__
        _real_input(x, "f", who)
        axis = check_dim(self.dim, x.ndim, "dim", who)
        return self._run(lambda a: pair_forward(a, axis=axis), x)

    def extra_repr(self) -> str:
        return f"dim={self.dim}"


class Softmax(_AlongDim):
    """p = softmax(x) along ``dim``; backward dx = p ⊙ (dy − Σ dy ⊙ p)."""

    shaped_like = "p"

    def forward(self, x):
        return self._along(softmax_forward, x)

    def backward(self, dy):
        return self._back(softmax_backward, dy)


class LogSoftmax(_AlongDim):
    """ℓ = x − logsumexp(x) along ``dim``; backward dx = dy − softmax(x) Σ dy."""

    shaped_like = "logp"

    def forward(self, x):
        return self._along(log_softmax_forward, x)

    def backward(self, dy):
        return self._back(log_softmax_backward, dy)
