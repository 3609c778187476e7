"""``Flatten``: reshape (N, d1, d2, ...) -> (N, d1·d2·...); backward reshapes back."""

from __future__ import annotations

from ..module import Module

__all__ = ["Flatten"]


class Flatten(Module):
    """As ``torch.nn.Flatten(start_dim=1, end_dim=-1)``. A reshape moves no number, so its
    backward is the inverse reshape of the upstream gradient."""

    def __init__(self, start_dim: int = 1, end_dim: int = -1):
        super().__init__()
        self.start_dim, self.end_dim = start_dim, end_dim

    def forward(self, x):
        self.save_for_backward(x.shape)
        s = self.start_dim % x.ndim
        e = self.end_dim % x.ndim
        return x.reshape(x.shape[:s] + (-1,) + x.shape[e + 1:])

    def backward(self, dy):
        return dy.reshape(self.saved())

    def extra_repr(self) -> str:
        return f"start_dim={self.start_dim}, end_dim={self.end_dim}"
