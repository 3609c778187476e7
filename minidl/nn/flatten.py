"""``Flatten``: reshape (N, d1, d2, ...) -> (N, d1·d2·...); backward reshapes back."""

from __future__ import annotations

import math

from ..checks import check_dim, check_upstream, require_array
from ..errors import ShapeError
from ..module import Module

__all__ = ["Flatten"]


class Flatten(Module):
    """As ``torch.nn.Flatten(start_dim=1, end_dim=-1)``: dims start_dim..end_dim become one.
    A reshape moves no number, so its backward is the inverse reshape of the upstream
    gradient."""

    def __init__(self, start_dim: int = 1, end_dim: int = -1):
        super().__init__()
        self.start_dim, self.end_dim = start_dim, end_dim

    def forward(self, x):
        require_array(x, "input", "Flatten")
        s = check_dim(self.start_dim, x.ndim, "start_dim", "Flatten")
        e = check_dim(self.end_dim, x.ndim, "end_dim", "Flatten")
        if s > e:
            raise ShapeError(f"Flatten: start_dim must not come after end_dim, got start_dim={self.start_dim}, "
                             f"end_dim={self.end_dim} for an input with {x.ndim} dims")
        # the size written out, not -1: with a zero-size dim elsewhere, -1 would be ambiguous
        y = x.reshape(x.shape[:s] + (math.prod(x.shape[s:e + 1]),) + x.shape[e + 1:])
        self.save_for_backward((x.shape, y.shape))
        return y

    def backward(self, dy):
        in_shape, out_shape = self.saved()
        check_upstream(dy, out_shape, "dy", "Flatten")
        return dy.reshape(in_shape)

    def extra_repr(self) -> str:
        return f"start_dim={self.start_dim}, end_dim={self.end_dim}"
