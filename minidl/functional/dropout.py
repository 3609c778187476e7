"""Inverted dropout.

Training: keep each unit with probability q = 1 − p and scale the kept ones by 1/q,

    m_i ~ Bernoulli(q),   y = x ⊙ m / q

so that E[y] = x and evaluation needs no rescaling (y = x). The mask is a constant of
the forward pass, so ``dx = dy ⊙ m / q``.

The mask is drawn from minidl's generator for x's device (:func:`minidl.manual_seed`
makes it repeatable), in x's dtype: a floating dtype, since m/q is not an integer.
"""

from __future__ import annotations

from typing import NamedTuple

from ..backend import get_array_module, get_rng

__all__ = ["dropout_mask", "DropoutCache", "dropout_forward", "dropout_backward"]


# --8<-- [start:dropout]
def dropout_mask(x, p):
    """The scaled mask m/q, drawn on x's device, with x's shape and (floating) dtype
    (all zeros for p = 1, where nothing is kept)."""
    xp = get_array_module(x)
    keep = 1.0 - p
    if keep == 0.0:
        return xp.zeros_like(x)
    return (get_rng(xp).random(x.shape, dtype=xp.float32) < keep).astype(x.dtype) / x.dtype.type(keep)


class DropoutCache(NamedTuple):
    """The scaled mask m/q of this call (None when dropout was off: y = x)."""

    scaled_mask: object


def dropout_forward(x, *, p=0.5, training=True):
    """y = x ⊙ m/q in training (p > 0), y = x otherwise. x: any shape, floating ->
    ``(y same shape, DropoutCache)``."""
    if not training or p == 0.0:
        return x, DropoutCache(None)
    mask = dropout_mask(x, p)
    return x * mask, DropoutCache(mask)


def dropout_backward(dy, cache: DropoutCache) -> dict:
    """dx = dy ⊙ m/q: the mask is a constant of the forward pass -> ``{"x": dx}``."""
    mask = cache.scaled_mask
    return {"x": dy if mask is None else dy * mask}
# --8<-- [end:dropout]
