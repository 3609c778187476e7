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

These functions hold no state: the train forward returns μ and σ²·M/(M − 1) in its cache
(``cache.batch_mean``, ``cache.batch_var``), and the module that owns the running
estimates updates them itself, in the open (``minidl.nn.BatchNorm2d``).

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

**One kernel each on a GPU.** The elementwise parts, "normalise and scale"
(``x̂ = (x − μ)·r`` in place, ``y = γ·x̂ + β``) and the ``dx`` expression above, are written
once as in-place functions of whole (M, C) columns and (C,) per-channel vectors, decorated
with :func:`minidl.backend.fuse`: on CuPy arrays each is one fused kernel (one read and one
write of every element instead of one pass per operation), on NumPy the same lines run
ufunc by ufunc. The reductions (μ, σ², Σ dy, Σ dy ⊙ x̂) stay ordinary calls.

Both pairs follow the functional contract: ``y, cache = *_forward(x, ...)`` and
``grads = *_backward(dy, cache)`` with ``grads["x"]`` and, where given, ``grads["weight"]``
(∂L/∂γ) and ``grads["bias"]`` (∂L/∂β).
"""

from __future__ import annotations

from typing import NamedTuple

from .. import backend
from ..backend import get_array_module
from ..errors import ShapeError

__all__ = [
    "to_channel_columns",
    "from_channel_columns",
    "BatchNormTrainCache",
    "batch_norm_train_forward",
    "batch_norm_train_backward",
    "BatchNormEvalCache",
    "batch_norm_eval_forward",
    "batch_norm_eval_backward",
    "normalize_and_scale",
    "batch_norm_dx",
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


# --8<-- [start:batchnorm_kernels]
@backend.fuse
def normalize_and_scale(x_hat, rstd, weight, bias, Y):
    """In place, per column: ``x̂ ← x̂·r`` (x̂ holds x − μ on entry), ``Y = γ·x̂ + β``.

    x_hat, Y: (M, C); rstd, weight, bias: (C,) (weight 1.0 and bias 0.0 where not given).
    """
    xp = backend.get_array_module(x_hat)
    x_hat *= rstd
    xp.multiply(x_hat, weight, out=Y)
    Y += bias


@backend.fuse
def batch_norm_dx(dY, x_hat, mean_dy, mean_dy_xhat, scale, dX):
    """``dX = γr·(dy − mean(dy) − x̂·mean(dy ⊙ x̂))`` per column, written into dX.

    dY, x_hat, dX: (M, C); mean_dy, mean_dy_xhat, scale (= γ·r): (C,).
    """
    xp = backend.get_array_module(dY)
    xp.multiply(x_hat, mean_dy_xhat, out=dX)
    xp.subtract(dY, dX, out=dX)
    dX -= mean_dy
    dX *= scale
# --8<-- [end:batchnorm_kernels]


def _affine(x_hat, rstd, weight, bias):
    """Scale x̂ (holding x − μ) by r in place and return ``γ·x̂ + β``: one kernel on a GPU."""
    xp = get_array_module(x_hat)
    Y = xp.empty_like(x_hat)
    normalize_and_scale(x_hat, rstd, 1.0 if weight is None else weight, 0.0 if bias is None else bias, Y)
    return Y


def _param_grads(grads, dY, x_hat, weight, bias):
    """Add ``∂L/∂γ = Σ_m dy ⊙ x̂`` and ``∂L/∂β = Σ_m dy`` for the parameters that were given."""
    xp = get_array_module(dY)
    if weight is not None:
        grads["weight"] = xp.einsum("mc,mc->c", dY, x_hat)
    if bias is not None:
        grads["bias"] = dY.sum(axis=0)
    return grads


class BatchNormTrainCache(NamedTuple):
    """x̂ as (M, C) columns, ``r = 1/√(σ² + ε)``, γ and β (or None), and the batch
    statistics for the running estimates: μ and the unbiased σ²·M/(M − 1)."""

    x_hat: object
    rstd: object
    weight: object
    bias: object
    batch_mean: object
    batch_var: object


# --8<-- [start:batchnorm]
def batch_norm_train_forward(x, weight=None, bias=None, *, eps=1e-5):
    """Normalise with the batch's statistics. x: (N, C, *) -> y: same shape, and the cache.

    The cache carries the batch mean ``μ: (C,)`` and the *unbiased* batch variance
    ``σ²·M/(M−1): (C,)`` for the caller's running estimates (nothing is updated here).
    """
    xp = get_array_module(x)
    X = to_channel_columns(x)  # (M, C)
    M = X.shape[0]
    if M < 2:
        raise ShapeError(f"batch_norm: x must hold more than 1 value per channel in train mode, "
                         f"got shape {tuple(x.shape)}")
    mean = X.mean(axis=0)
    x_hat = X - mean  # (M, C), becomes x̂ in place below
    var = xp.einsum("mc,mc->c", x_hat, x_hat) / M  # Σ (x − μ)², without an (M, C) temporary
    rstd = 1.0 / xp.sqrt(var + eps)
    y = from_channel_columns(_affine(x_hat, rstd, weight, bias), x.shape)  # x̂ ← x̂·r in place
    return y, BatchNormTrainCache(x_hat, rstd, weight, bias, mean, var * (M / (M - 1)))


def batch_norm_train_backward(dy, cache: BatchNormTrainCache) -> dict:
    """Compact backward: ``dx = γ·r·(dy − mean(dy) − x̂·mean(dy ⊙ x̂))``.

    dy: (N, C, *) -> ``{"x": (N, C, *), "weight": (C,), "bias": (C,)}`` (the last two when given).
    """
    xp = get_array_module(dy)
    x_hat, rstd, weight = cache.x_hat, cache.rstd, cache.weight
    dY = to_channel_columns(dy)  # (M, C)
    M = dY.shape[0]
    sum_dy = dY.sum(axis=0)  # Σ dy
    sum_dy_xhat = xp.einsum("mc,mc->c", dY, x_hat)  # Σ dy ⊙ x̂
    scale = rstd if weight is None else weight * rstd  # γ·r, per channel
    dX = xp.empty(dY.shape, dtype=dY.dtype)
    batch_norm_dx(dY, x_hat, sum_dy / M, sum_dy_xhat / M, scale, dX)
    grads = {"x": from_channel_columns(dX, dy.shape)}
    if weight is not None:
        grads["weight"] = sum_dy_xhat
    if cache.bias is not None:
        grads["bias"] = sum_dy
    return grads
# --8<-- [end:batchnorm]


class BatchNormEvalCache(NamedTuple):
    """x̂ as (M, C) columns, ``r = 1/√(running_var + ε)``, γ and β (or None)."""

    x_hat: object
    rstd: object
    weight: object
    bias: object


def batch_norm_eval_forward(x, running_mean, running_var, weight=None, bias=None, *, eps=1e-5):
    """Normalise with fixed (running) statistics. x: (N, C, *) -> y: same shape, and the cache."""
    xp = get_array_module(x)
    rstd = 1.0 / xp.sqrt(running_var + eps)
    x_hat = to_channel_columns(x) - running_mean
    y = from_channel_columns(_affine(x_hat, rstd, weight, bias), x.shape)  # x̂ ← x̂·r in place
    return y, BatchNormEvalCache(x_hat, rstd, weight, bias)


def batch_norm_eval_backward(dy, cache: BatchNormEvalCache) -> dict:
    """Eval mode is affine per channel: ``dx = γ·r_run·dy``. Returns ``{"x", "weight", "bias"}``
    (the last two when given; the running statistics are constants)."""
    dY = to_channel_columns(dy)
    scale = cache.rstd if cache.weight is None else cache.weight * cache.rstd
    grads = {"x": from_channel_columns(dY * scale, dy.shape)}
    return _param_grads(grads, dY, cache.x_hat, cache.weight, cache.bias)
