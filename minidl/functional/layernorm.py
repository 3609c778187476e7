"""Layer normalisation: each example normalised over its own features, and the compact backward.

Shapes: ``x: (*, K₁, …, K_k)``, the last ``k`` dims the ``normalized_shape`` (K values in
all); ``γ, β``: ``normalized_shape``. We view the input as a matrix ``X: (M, K)``, one row
per example (M = the product of the leading dims), and normalise each **row** on its own,
where BatchNorm normalises each column (:mod:`minidl.functional.batchnorm`):

    μ_m = (1/K) Σ_k x_mk          σ²_m = (1/K) Σ_k (x_mk − μ_m)²          (biased, per row)
    x̂_mk = (x_mk − μ_m)·r_m,  r_m = 1/√(σ²_m + ε)          y_mk = γ_k x̂_mk + β_k

No statistic is shared between examples, so there are no running estimates and train and
eval mode compute the same function.

**Backward.** Within a row every ``x̂_j`` depends on every ``x_k`` through μ and σ², by the
same algebra as BatchNorm's column (with K in place of M):

    ∂x̂_j/∂x_k = (r/K)·(K·δ_jk − 1 − x̂_j x̂_k)

The difference from BatchNorm is where γ sits: it varies along the row, so the upstream
gradient of x̂ is ``g = γ ⊙ dy`` (per feature) and

    ∂L/∂x_k = r·(g_k − mean_row(g) − x̂_k·mean_row(g ⊙ x̂))

(two row reductions). The parameters sum over the rows: ``∂L/∂γ = Σ_m dy_m ⊙ x̂_m``,
``∂L/∂β = Σ_m dy_m``. Without ``weight`` (PyTorch's ``elementwise_affine=False``) g = dy.

The pair follows the functional contract: ``y, cache = layer_norm_forward(x, weight, bias,
normalized_shape=..., eps=...)`` and ``grads = layer_norm_backward(dy, cache)`` with
``grads["x"]`` and, where given, ``grads["weight"]`` and ``grads["bias"]``.
"""

from __future__ import annotations

from typing import NamedTuple

from ..backend import get_array_module

__all__ = ["LayerNormCache", "layer_norm_forward", "layer_norm_backward"]


class LayerNormCache(NamedTuple):
    """x̂ as (M, K) rows, ``r = 1/√(σ² + ε)`` as (M, 1), γ and β (or None), and x's shape."""

    x_hat: object
    rstd: object
    weight: object
    bias: object
    shape: tuple


# --8<-- [start:layernorm]
def layer_norm_forward(x, weight=None, bias=None, *, normalized_shape, eps=1e-5):
    """Normalise each example over its last ``len(normalized_shape)`` dims.

    x: (*, *normalized_shape) -> y: same shape; weight (γ), bias (β): ``normalized_shape`` or None.
    """
    xp = get_array_module(x)
    K = 1
    for n in normalized_shape:
        K *= int(n)
    X = x.reshape(-1, K)  # (M, K): one row per example
    x_hat = X - X.mean(axis=1, keepdims=True)  # x − μ, becomes x̂ below
    var = xp.einsum("mk,mk->m", x_hat, x_hat)[:, None] / K  # σ² per row, (M, 1)
    rstd = 1.0 / xp.sqrt(var + eps)
    x_hat *= rstd
    Y = x_hat if weight is None else x_hat * weight.reshape(K)
    Y = Y if bias is None else Y + bias.reshape(K)
    return Y.reshape(x.shape), LayerNormCache(x_hat, rstd, weight, bias, tuple(x.shape))


def layer_norm_backward(dy, cache: LayerNormCache) -> dict:
    """Compact backward: ``dx = r·(g − mean(g) − x̂·mean(g ⊙ x̂))`` per row, ``g = γ ⊙ dy``.

    dy: x's shape -> ``{"x": x's shape, "weight", "bias": normalized_shape}`` (the last two when given).
    """
    x_hat, rstd, weight = cache.x_hat, cache.rstd, cache.weight
    K = x_hat.shape[1]
    dY = dy.reshape(-1, K)
    g = dY if weight is None else dY * weight.reshape(K)  # ∂L/∂x̂
    mean_g = g.mean(axis=1, keepdims=True)
    mean_g_xhat = (g * x_hat).mean(axis=1, keepdims=True)
    grads = {"x": (rstd * (g - mean_g - x_hat * mean_g_xhat)).reshape(cache.shape)}
    if weight is not None:
        grads["weight"] = (dY * x_hat).sum(axis=0).reshape(weight.shape)
    if cache.bias is not None:
        grads["bias"] = dY.sum(axis=0).reshape(cache.bias.shape)
    return grads
# --8<-- [end:layernorm]
