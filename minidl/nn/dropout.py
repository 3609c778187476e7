"""``Dropout(p)``: inverted dropout (maths in :mod:`minidl.functional.dropout`)."""

from __future__ import annotations

from ..functional.dropout import dropout_backward, dropout_forward, dropout_mask
from ..module import Module

__all__ = ["Dropout"]


class Dropout(Module):
    """Zero each element with probability ``p`` in training and scale the rest by 1/(1 − p);
    the identity in ``eval()``. Shapes: any -> same."""

    def __init__(self, p: float = 0.5):
        super().__init__()
        if not 0.0 <= p < 1.0:
            raise ValueError(f"dropout probability must lie in [0, 1), got {p}")
        self.p = float(p)

    def forward(self, x):
        if not self.training or self.p == 0.0:
            self.save_for_backward(None)
            return x
        mask = dropout_mask(x, self.p)
        self.save_for_backward(mask)
        return dropout_forward(x, mask)

    def backward(self, dy):
        mask = self.saved()
        return dy if mask is None else dropout_backward(dy, mask)

    def extra_repr(self) -> str:
        return f"p={self.p}, inplace=False"
