"""``Dropout(p)``: inverted dropout (maths in :mod:`minidl.functional.dropout`)."""

from __future__ import annotations

from ..checks import check_number, check_upstream, require_array
from ..errors import DTypeError
from ..functional.dropout import dropout_backward, dropout_forward
from ..module import Module

__all__ = ["Dropout"]


class Dropout(Module):
    """Zero each element with probability ``p`` in training and scale the rest by 1/(1 − p);
    the identity in ``eval()``. Shapes: any -> same.

    As in PyTorch, ``p`` lies in [0, 1] (``p = 1`` zeroes everything), and an integer or
    boolean input is refused in training (1/(1 − p) is no integer) but passed through in
    evaluation.
    """

    def __init__(self, p: float = 0.5):
        super().__init__()
        self.p = check_number(p, "p (the dropout probability)", "Dropout", low=0.0, high=1.0)

    def forward(self, x):
        require_array(x, "input", "Dropout")
        if self.training and x.dtype.kind != "f":
            raise DTypeError(f"Dropout: input must be a floating array in training mode, got dtype {x.dtype}")
        y, cache = dropout_forward(x, p=self.p, training=self.training)
        self.save_for_backward((cache, x.shape))
        return y

    def backward(self, dy):
        cache, shape = self.saved()
        check_upstream(dy, shape, "dy", "Dropout")
        return dropout_backward(dy, cache)["x"]

    def extra_repr(self) -> str:
        return f"p={self.p}, inplace=False"
