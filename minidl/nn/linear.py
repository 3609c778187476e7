"""``Linear``: the affine layer ``y = x Wᵀ + b`` (maths in :mod:`minidl.functional.linear`)."""

from __future__ import annotations

import math

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
        if x.ndim < 1 or x.shape[-1] != self.in_features:
            raise ValueError(
                f"Linear expected input of shape (..., {self.in_features}), got {tuple(x.shape)}"
            )
        self.save_for_backward(x)
        return linear_forward(x, self.weight.data, None if self.bias is None else self.bias.data)

    def backward(self, dy):
        x = self.saved()
        dx, dW, db = linear_backward(dy, x, self.weight.data, need_bias=self.bias is not None)
        self.weight.grad += dW
        if self.bias is not None:
            self.bias.grad += db
        return dx

    def extra_repr(self) -> str:
        return f"in_features={self.in_features}, out_features={self.out_features}, bias={self.bias is not None}"
