"""Inverted dropout.

Training: keep each unit with probability q = 1 − p and scale the kept ones by 1/q,

    m_i ~ Bernoulli(q),   y = x ⊙ m / q

so that E[y] = x and evaluation needs no rescaling (y = x). The mask is a constant of
the forward pass, so ``dx = dy ⊙ m / q``.
"""

from __future__ import annotations

from ..backend import get_array_module, get_rng

__all__ = ["dropout_mask", "dropout_forward", "dropout_backward"]


# --8<-- [start:dropout]
def dropout_mask(x, p):
    """The scaled mask m/q, drawn on x's device, with x's shape and dtype."""
    xp = get_array_module(x)
    keep = 1.0 - p
    return (get_rng(xp).random(x.shape, dtype=xp.float32) < keep).astype(x.dtype) / x.dtype.type(keep)


def dropout_forward(x, scaled_mask):
    """y = x ⊙ m/q. x, scaled_mask: same shape -> y: same shape."""
    return x * scaled_mask


def dropout_backward(dy, scaled_mask):
    """dx = dy ⊙ m/q: the mask is a constant of the forward pass. Shapes as dy."""
    return dy * scaled_mask
# --8<-- [end:dropout]
