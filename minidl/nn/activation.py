"""Activation layers (maths in :mod:`minidl.functional.activations`). Shapes: any -> same."""

from __future__ import annotations

from ..functional import activations as F
from ..module import Module

__all__ = ["ReLU", "Tanh", "Sigmoid", "Softmax", "LogSoftmax"]


class ReLU(Module):
    """y = max(x, 0); backward dx = dy ⊙ [x > 0]."""

    def forward(self, x):
        self.save_for_backward(x)
        return F.relu_forward(x)

    def backward(self, dy):
        return F.relu_backward(dy, self.saved())


class Tanh(Module):
    """y = tanh(x); backward dx = dy ⊙ (1 − y²)."""

    def forward(self, x):
        y = F.tanh_forward(x)
        self.save_for_backward(y)
        return y

    def backward(self, dy):
        return F.tanh_backward(dy, self.saved())


class Sigmoid(Module):
    """y = σ(x), overflow-safe; backward dx = dy ⊙ y(1 − y)."""

    def forward(self, x):
        y = F.sigmoid_forward(x)
        self.save_for_backward(y)
        return y

    def backward(self, dy):
        return F.sigmoid_backward(dy, self.saved())


class _AlongDim(Module):
    def __init__(self, dim: int = -1):
        super().__init__()
        self.dim = dim

    def extra_repr(self) -> str:
        return f"dim={self.dim}"


class Softmax(_AlongDim):
    """p = softmax(x) along ``dim``; backward dx = p ⊙ (dy − Σ dy ⊙ p)."""

    def forward(self, x):
        p = F.softmax_forward(x, axis=self.dim)
        self.save_for_backward(p)
        return p

    def backward(self, dy):
        return F.softmax_backward(dy, self.saved(), axis=self.dim)


class LogSoftmax(_AlongDim):
    """ℓ = x − logsumexp(x) along ``dim``; backward dx = dy − softmax(x) Σ dy."""

    def forward(self, x):
        logp = F.log_softmax_forward(x, axis=self.dim)
        self.save_for_backward(logp)
        return logp

    def backward(self, dy):
        return F.log_softmax_backward(dy, self.saved(), axis=self.dim)
