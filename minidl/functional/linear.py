"""Affine map: forward and hand-derived backward.

Forward, for a batch of rows ``x: (N, D)`` (any leading dims ``(..., D)`` are flattened):

    y = x Wᵀ + b          W: (M, D), b: (M,), y: (N, M)

Backward, given ``dy = ∂L/∂y: (N, M)``. Since ``y_nm = Σ_d x_nd W_md + b_m``:

    ∂L/∂x_nd = Σ_m dy_nm W_md   →  dx = dy W         (N, D)
    ∂L/∂W_md = Σ_n dy_nm x_nd   →  dW = dyᵀ x        (M, D)
    ∂L/∂b_m  = Σ_n dy_nm        →  db = Σ_n dy       (M,)

Each gradient has the shape of what it differentiates — a cheap check on every formula.
"""

from __future__ import annotations

from typing import NamedTuple

__all__ = ["LinearCache", "linear_forward", "linear_backward"]


class LinearCache(NamedTuple):
    """What :func:`linear_backward` needs: the input and the weight (``has_bias``: was b given)."""

    x: object
    weight: object
    has_bias: bool


# --8<-- [start:linear]
def linear_forward(x, weight, bias=None):
    """``y = x Wᵀ + b``. x: (..., D), weight: (M, D), bias: (M,) or None -> ``(y (..., M), cache)``."""
    y = x @ weight.T
    if bias is not None:
        y += bias
    return y, LinearCache(x, weight, bias is not None)


def linear_backward(dy, cache: LinearCache) -> dict:
    """Gradients of :func:`linear_forward`. dy: (..., M) ->
    ``{"x": dx (..., D), "weight": dW (M, D), "bias": db (M,)}`` (no ``"bias"`` without one)."""
    x, W, has_bias = cache
    D, M = x.shape[-1], dy.shape[-1]
    x2 = x.reshape(-1, D)
    dy2 = dy.reshape(-1, M)
    grads = {"x": dy @ W}
    if x2.shape[0] == 1:
        # one row (batch 1, a cell stepped per example): dW is an outer product, which a
        # broadcast multiply does several times faster than a rank-1 GEMM call, and db is
        # that row itself (a reduction call costs 4x a copy at this size)
        grads["weight"] = dy2[0][:, None] * x2[0][None, :]
        if has_bias:
            grads["bias"] = dy2[0].copy()
    else:
        grads["weight"] = dy2.T @ x2
        if has_bias:
            grads["bias"] = dy2.sum(axis=0)
    return grads
# --8<-- [end:linear]
