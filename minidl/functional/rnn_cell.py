"""One step of the Elman RNN: forward and hand-derived backward.

Equations (PyTorch's ``nn.RNNCell``)::

    z  = x W_ihᵀ + b_ih + h W_hhᵀ + b_hh        z: (B, H)
    h' = φ(z)          φ = tanh  or  relu

Shapes: x (B, D), h (B, H), W_ih (H, D), W_hh (H, H), b_ih and b_hh (H,).

Backward, given ``dh' = ∂L/∂h'``: the derivative of φ is read off its output,
``tanh'(z) = 1 − h'²`` and ``relu'(z) = 1[h' > 0]``, so

    dz = dh' ⊙ φ'            dx = dz W_ih     dh = dz W_hh
    dW_ih = dzᵀ x            dW_hh = dzᵀ h    db_ih = db_hh = Σ_batch dz

``φ'`` depends only on the forward, so a sequence layer computes it for every step at once
(:func:`rnn_local_grad`) and its reverse loop is one product and one GEMM per step.
"""

from __future__ import annotations

from .. import backend

__all__ = ["NONLINEARITIES", "rnn_activation", "rnn_local_grad", "rnn_cell_forward", "rnn_cell_backward"]

NONLINEARITIES = ("tanh", "relu")


def check_nonlinearity(nonlinearity: str) -> None:
    """Raise ValueError unless ``nonlinearity`` is ``"tanh"`` or ``"relu"``."""
    if nonlinearity not in NONLINEARITIES:
        raise ValueError(f"nonlinearity must be 'tanh' or 'relu', got {nonlinearity!r}")


# --8<-- [start:rnn_activation]
def rnn_activation(z, nonlinearity="tanh", out=None):
    """h' = φ(z), z (..., H); ``out`` may be z itself."""
    xp = backend.get_array_module(z)
    if nonlinearity == "tanh":
        return xp.tanh(z, out=out)
    return xp.maximum(z, 0, out=out)


def rnn_local_grad(h, nonlinearity="tanh"):
    """φ'(z) from φ's output h (any shape): ``1 − h²`` (tanh) or ``1[h > 0]`` (relu)."""
    if nonlinearity == "tanh":
        return 1.0 - h * h
    return (h > 0).astype(h.dtype)
# --8<-- [end:rnn_activation]


def rnn_cell_forward(x, h, W_ih, W_hh, b_ih=None, b_hh=None, nonlinearity="tanh"):
    """One step. x (B, D), h (B, H) -> ``(h', cache)``, h' (B, H)."""
    check_nonlinearity(nonlinearity)
    z = x @ W_ih.T
    z += h @ W_hh.T
    if b_ih is not None:
        z += b_ih
        z += b_hh
    h_new = rnn_activation(z, nonlinearity, out=z)
    return h_new, (x, h, h_new, W_ih, W_hh, nonlinearity)


def rnn_cell_backward(dh_new, cache):
    """dh' (B, H) -> ``(dx, dh, dW_ih, dW_hh, db)``; db is the gradient of b_ih and of b_hh."""
    x, h, h_new, W_ih, W_hh, nonlinearity = cache
    dz = dh_new * rnn_local_grad(h_new, nonlinearity)
    return dz @ W_ih, dz @ W_hh, dz.T @ x, dz.T @ h, dz.sum(axis=0)
