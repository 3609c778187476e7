"""Batch normalisation: forward in train and eval mode, and the compact closed-form backward.

Shapes: ``x: (N, C)``, ``(N, C, L)`` or ``(N, C, H, W)``; statistics are per channel
``c``, over the ``M`` values that share it (``M = N``, ``N·L`` or ``N·H·W``). We move the
channel axis last and view the input as a matrix ``X: (M, C)``; each column is normalised
on its own. ``γ, β: (C,)``.

**Train mode** (batch statistics):

    μ = (1/M) Σ_m x_m          σ² = (1/M) Σ_m (x_m − μ)²          (biased, per column)
    x̂_m = (x_m − μ) / √(σ² + ε)          y_m = γ x̂_m + β

The running estimates used later in eval mode are updated with momentum ``α``::

    running_mean ← (1 − α)·running_mean + α·μ
    running_var  ← (1 − α)·running_var  + α·σ²·M/(M − 1)          (unbiased, as PyTorch)

**Backward, train mode.** Write ``r = 1/√(σ² + ε)`` and ``g = ∂L/∂x̂ = γ·dy``. Every
``x̂_m`` depends on every ``x_k`` of its column through μ and σ², so

    ∂x̂_m/∂x_k = r·(δ_mk − 1/M) − (x_m − μ)·(r³/2)·∂σ²/∂x_k,      ∂σ²/∂x_k = (2/M)(x_k − μ)
              = (r/M)·(M·δ_mk − 1 − x̂_m x̂_k)

(the ``Σ_m (x_m − μ)`` term of ``∂σ²/∂x_k`` vanishes). Summing against ``g_m``:

    ∂L/∂x_k = (r/M)·(M·g_k − Σ_m g_m − x̂_k·Σ_m g_m x̂_m)
            = γ·r·(dy_k − mean(dy) − x̂_k·mean(dy ⊙ x̂))

Two column reductions and one fused expression: no explicit ``∂L/∂σ²`` or ``∂L/∂μ``
chain (the "compact form"). The parameters get ``∂L/∂γ = Σ_m dy_m x̂_m`` and
``∂L/∂β = Σ_m dy_m``; note that ``Σ dy ⊙ x̂`` serves both ``∂L/∂γ`` and ``∂L/∂x``.

**Eval mode** (running statistics, constants): ``y = γ·(x − μ_run)·r_run + β`` is an
affine map per channel, so ``∂L/∂x = γ·r_run·dy``; ``∂L/∂γ``, ``∂L/∂β`` as above.

Without ``affine`` there is no γ, β: the same formulas hold with γ = 1, β = 0.
"""

from __future__ import annotations

from ..backend import get_array_module

__all__ = [
    "to_channel_columns",
    "from_channel_columns",
    "batch_norm_train_forward",
    "batch_norm_train_backward",
    "batch_norm_eval_forward",
    "batch_norm_eval_backward",
]


def to_channel_columns(x):
    """x: (N, C, *) -> (M, C), a view when ``x`` is channels-last in memory."""
    xp = get_array_module(x)
    C = x.shape[1]
    return xp.moveaxis(x, 1, -1).reshape(-1, C)


def from_channel_columns(x2, shape):
    """Inverse of :func:`to_channel_columns`: (M, C) -> ``shape`` = (N, C, *), a view."""
    xp = get_array_module(x2)
    N, C = shape[0], shape[1]
    return xp.moveaxis(x2.reshape((N,) + tuple(shape[2:]) + (C,)), -1, 1)


# --8<-- [start:batchnorm]
def batch_norm_train_forward(x, weight=None, bias=None, eps=1e-5):
    """Normalise with the batch's statistics. x: (N, C, *) -> y: same shape.

    Returns ``y``, the cache for :func:`batch_norm_train_backward`, the batch mean ``μ: (C,)``
    and the *unbiased* batch variance ``σ²·M/(M−1): (C,)`` (for the running estimate).
    """
    xp = get_array_module(x)
    X = to_channel_columns(x)  # (M, C)
    M = X.shape[0]
    if M < 2:
        raise ValueError(
            f"batch norm in train mode needs more than 1 value per channel, got input of shape {tuple(x.shape)}"
        )
    mean = X.mean(axis=0)
    x_hat = X - mean  # (M, C), becomes x̂ in place below
    var = xp.einsum("mc,mc->c", x_hat, x_hat) / M  # Σ (x − μ)², without an (M, C) temporary
    rstd = 1.0 / xp.sqrt(var + eps)
    x_hat *= rstd
    Y = x_hat * weight if weight is not None else x_hat.copy()
    if bias is not None:
        Y += bias
    cache = (x_hat, rstd, weight)
    return from_channel_columns(Y, x.shape), cache, mean, var * (M / (M - 1))


def batch_norm_train_backward(dy, cache):
    """Compact backward: ``dx = γ·r·(dy − mean(dy) − x̂·mean(dy ⊙ x̂))``.

    dy: (N, C, *) -> dx: same shape, dγ: (C,), dβ: (C,).
    """
    xp = get_array_module(dy)
    x_hat, rstd, weight = cache
    dY = to_channel_columns(dy)  # (M, C)
    M = dY.shape[0]
    dbeta = dY.sum(axis=0)  # Σ dy
    dgamma = xp.einsum("mc,mc->c", dY, x_hat)  # Σ dy ⊙ x̂
    scale = rstd if weight is None else weight * rstd  # γ·r, per channel
    dX = x_hat * (-dgamma / M)  # − x̂·mean(dy ⊙ x̂)
    dX += dY
    dX -= dbeta / M
    dX *= scale
    return from_channel_columns(dX, dy.shape), dgamma, dbeta
# --8<-- [end:batchnorm]


def batch_norm_eval_forward(x, running_mean, running_var, weight=None, bias=None, eps=1e-5):
    """Normalise with fixed (running) statistics. x: (N, C, *) -> y: same shape, and the cache."""
    xp = get_array_module(x)
    X = to_channel_columns(x)
    rstd = 1.0 / xp.sqrt(running_var + eps)
    x_hat = (X - running_mean) * rstd
    Y = x_hat * weight if weight is not None else x_hat.copy()
    if bias is not None:
        Y += bias
    return from_channel_columns(Y, x.shape), (x_hat, rstd, weight)


def batch_norm_eval_backward(dy, cache):
    """Eval mode is affine per channel: ``dx = γ·r_run·dy``. Returns dx, dγ, dβ."""
    xp = get_array_module(dy)
    x_hat, rstd, weight = cache
    dY = to_channel_columns(dy)
    dbeta = dY.sum(axis=0)
    dgamma = xp.einsum("mc,mc->c", dY, x_hat)
    scale = rstd if weight is None else weight * rstd
    dX = dY * scale
    return from_channel_columns(dX, dy.shape), dgamma, dbeta
