"""``Linear``: the affine layer ``y = x Wᵀ + b`` (maths in :mod:`minidl.functional.linear`)."""

from __future__ import annotations

import math

from ..checks import check_dtype, check_shape, check_upstream
from ..functional.linear import linear_backward, linear_forward
from ..module import Module, Parameter
from . import init

__all__ = ["Linear"]


class Linear(Module):
    """``Linear(in_features, out_features, bias=True)``, as ``torch.nn.Linear``.

    Shapes: x (..., in_features) -> y (..., out_features).
    Parameters: ``weight`` (out_features, in_features), ``bias`` (out_features,), both
    U(−1/√in, 1/√in) at start.
    """

    def __init__(self, in_features: int, out_features: int, bias: bool = True):
        super().__init__()
        self.in_features = int(in_features)
        self.out_features = int(out_features)
        k = 1.0 / math.sqrt(in_features)
        self.weight = Parameter(init.uniform((out_features, in_features), k))
        self.bias = Parameter(init.uniform((out_features,), k)) if bias else None

    def forward(self, x):
        check_shape(x, (self.in_features,), "input", "Linear", leading=True)
        check_dtype(x, self.weight.data.dtype, "input", "Linear")
        y, cache = linear_forward(x, self.weight.data, None if self.bias is None else self.bias.data)
        self.save_for_backward(cache)
        return y

    def backward(self, dy):
        cache = self.saved()
        check_upstream(dy, cache.x.shape[:-1] + (self.out_features,), "dy", "Linear")
        grads = linear_backward(dy, cache)
        self.accumulate_grads(grads)
        return grads["x"]

    def extra_repr(self) -> str:
        return f"in_features={self.in_features}, out_features={self.out_features}, bias={self.bias is not None}"
