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

__all__ = ["linear_forward", "linear_backward"]


# --8<-- [start:linear]
def linear_forward(x, W, b=None):
    """``y = x Wᵀ + b``. x: (..., D), W: (M, D), b: (M,) or None -> y: (..., M)."""
    y = x @ W.T
    if b is not None:
        y += b
    return y


def linear_backward(dy, x, W, need_bias=True):
    """Gradients of :func:`linear_forward`. dy: (..., M) -> dx (..., D), dW (M, D), db (M,)."""
    D = x.shape[-1]
    M = dy.shape[-1]
    x2 = x.reshape(-1, D)
    dy2 = dy.reshape(-1, M)
    dx = dy @ W
    if x2.shape[0] == 1:
        # one row (batch 1, a cell stepped per example): dW is an outer product, which a
        # broadcast multiply does several times faster than a rank-1 GEMM call, and db is
        # that row itself (a reduction call costs 4x a copy at this size)
        dW = dy2[0][:, None] * x2[0][None, :]
        db = dy2[0].copy() if need_bias else None
    else:
        dW = dy2.T @ x2
        db = dy2.sum(axis=0) if need_bias else None
    return dx, dW, db
# --8<-- [end:linear]
