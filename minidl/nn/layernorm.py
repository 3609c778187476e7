"""``LayerNorm`` (maths in :mod:`minidl.functional.layernorm`)."""

from __future__ import annotations

from ..checks import check_dtype, check_float, check_number, check_shape, check_upstream
from ..errors import RangeError
from ..functional.layernorm import layer_norm_backward, layer_norm_forward
from ..module import Module, Parameter
from . import init

__all__ = ["LayerNorm"]


class LayerNorm(Module):
    """``LayerNorm(normalized_shape, eps=1e-5, elementwise_affine=True, bias=True)``, as PyTorch's.

    Shapes: x (*, *normalized_shape) -> y: same; each example (each index of the leading
    dims) is normalised over the last ``len(normalized_shape)`` dims, then scaled by
    ``weight`` (γ, ``normalized_shape``, ones) and shifted by ``bias`` (β, zeros). No
    running statistics: train and eval mode compute the same function. The input must have
    the parameters' dtype, as in PyTorch.
    """

    def __init__(self, normalized_shape, eps: float = 1e-5, elementwise_affine: bool = True, bias: bool = True):
        super().__init__()
        shape = (normalized_shape,) if isinstance(normalized_shape, int) else tuple(normalized_shape)
        if not shape or not all(isinstance(n, int) and n >= 1 for n in shape):
            raise RangeError(f"LayerNorm: normalized_shape must be a positive int or a non-empty tuple of them, "
                             f"got {normalized_shape!r}")
        self.normalized_shape = shape
        self.eps = check_number(eps, "eps", "LayerNorm", low=0.0, low_open=True)
        self.elementwise_affine = bool(elementwise_affine)
        self.weight = Parameter(init.ones(shape)) if elementwise_affine else None
        self.bias = Parameter(init.zeros(shape)) if elementwise_affine and bias else None

    def forward(self, x):
        check_float(x, "input", "LayerNorm")
        check_shape(x, self.normalized_shape, "input", "LayerNorm", leading=True)
        if self.weight is not None:
            check_dtype(x, self.weight.dtype, "input", "LayerNorm")
        weight = None if self.weight is None else self.weight.data
        bias = None if self.bias is None else self.bias.data
        y, cache = layer_norm_forward(x, weight, bias, normalized_shape=self.normalized_shape, eps=self.eps)
        self.save_for_backward(cache)
        return y

    def backward(self, dy):
        cache = self.saved()
        check_upstream(dy, cache.shape, "dy", "LayerNorm")
        grads = layer_norm_backward(dy, cache)
        self.accumulate_grads(grads)
        return grads["x"]

    def extra_repr(self) -> str:
        return f"{self.normalized_shape}, eps={self.eps}, elementwise_affine={self.elementwise_affine}"
