"""Batch normalisation in training mode as the layers run it: the formulas of
:mod:`minidl.functional.batchnorm`, in fewer passes over memory.

Every pass over an ``(M, C)`` array of activations reads (and often writes) megabytes, and
most of BatchNorm's arithmetic is one multiply or add per number, so its time is the number
of passes. :func:`~minidl.functional.batchnorm.batch_norm_train_forward` makes six
(mean, ``x − μ``, the variance, ``x̂ ← x̂·r``, ``γ·x̂``, ``+ β``) and its backward seven. Here:

**Cache ``x − μ``, not ``x̂``.** ``x̂ = (x − μ)·r`` is never formed: the forward writes
``y = (x − μ)·(γr) + β`` (two passes, :func:`scale_shift`), and the backward folds ``r`` into
per-channel numbers (``x̂·mean(dy ⊙ x̂) = (x − μ)·(r·mean(dy ⊙ x̂))``, with
``Σ dy ⊙ x̂ = r·Σ dy ⊙ (x − μ)``), so it runs the same fused
:func:`~minidl.functional.batchnorm.batch_norm_dx` on ``x − μ``.

**Long rows.** In the channels-last ``(M, C)`` view, a per-channel operation with few
channels (C = 16) gives NumPy rows of 16 numbers: a loop with a short inner loop. Viewing
the same memory as ``(M/t, t·C)`` rows (``t`` pixels side by side) and repeating each
per-channel vector ``t`` times does the same arithmetic with long inner loops; a
per-channel sum is then a sum of rows followed by a sum of ``t`` partial sums (which also
adds fewer numbers into each running sum, so it is no less accurate). ``x.sum(axis=0)`` of
a (131072, 16) array takes 2.7 ms this way or 0.2 ms the long-row way (one core).

**Both cores.** With a BLAS on ``t`` threads (:mod:`~minidl.functional.host_threads`, as the
convolution), the long rows are cut into contiguous pieces, a few per thread: each
per-channel sum is the pieces' partial sums added in piece order (the same numbers every
run), and each elementwise pass runs on the threads at once. One thread is one piece: the
code above, unchanged.

Both pairs keep the contract of the readable ones: ``y, cache = batch_norm_fast_forward(x,
γ, β)`` with the batch statistics in ``cache.batch_mean``, ``cache.batch_var`` (unbiased), and
``grads = batch_norm_fast_backward(dy, cache)`` with ``"x"`` and, where given, ``"weight"``
(∂L/∂γ) and ``"bias"`` (∂L/∂β); they are tested equal to them in float64.
"""

from __future__ import annotations

from typing import NamedTuple

from .. import backend
from ..backend import get_array_module
from ..errors import ShapeError
from .batchnorm import batch_norm_dx, from_channel_columns, to_channel_columns
from .host_threads import host_shares, run_shares, sum_in_order

__all__ = ["BatchNormFastCache", "batch_norm_fast_forward", "batch_norm_fast_backward", "scale_shift"]

ROW_LENGTH = 1024  # numbers per long row (the repeat t is a power of two that divides M)


# --8<-- [start:batchnorm_fast_kernels]
@backend.fuse
def scale_shift(x, scale, shift, Y):
    """``Y = x·scale + shift`` per column. x, Y: (M, C); scale, shift: (C,) (or scalars)."""
    xp = backend.get_array_module(x)
    xp.multiply(x, scale, out=Y)
    Y += shift
# --8<-- [end:batchnorm_fast_kernels]


def _repeat(X) -> int:
    """t: how many pixels of ``X: (M, C)`` make one long row (1 off the CPU: a GPU kernel
    does not care how the rows are cut)."""
    M, C = X.shape
    if backend.device_of(X) != "cpu":
        return 1
    t = 1
    while t * C < ROW_LENGTH and M % (2 * t) == 0:
        t *= 2
    return t


def _long(X, t):
    """(M, C) contiguous -> the same memory as (M/t, t·C) rows."""
    return X.reshape(-1, t * X.shape[1])


def _per_pixel(xp, v, t):
    """A per-channel vector (C,) repeated for t pixels: (t·C,); a scalar stays a scalar."""
    return v if t == 1 or not hasattr(v, "shape") else xp.tile(v, t)


def _row_shares(X, t):
    """The long rows of ``X: (M, C)`` cut for the host's threads (:func:`host_shares`)."""
    return host_shares(X.shape[0] // t, X, X.size)


def _on_shares(work, parts) -> list:
    """``[work(rows) for each piece of rows]``, in piece order, the pieces on the host's threads."""
    return run_shares(lambda k, slot: work(slice(*parts.pieces[k])), parts)


def _fold(long_sum, C):
    """A sum over long rows ``(t·C,)`` -> the per-channel sum ``(C,)``."""
    return long_sum.reshape(-1, C).sum(axis=0)


class BatchNormFastCache(NamedTuple):
    """``x − μ`` as (M, C) columns, ``r = 1/√(σ² + ε)``, γ and β (or None), and the batch
    statistics for the running estimates: μ and the unbiased σ²·M/(M − 1)."""

    x_centered: object
    rstd: object
    weight: object
    bias: object
    batch_mean: object
    batch_var: object


# --8<-- [start:batchnorm_fast]
def batch_norm_fast_forward(x, weight=None, bias=None, *, eps=1e-5):
    """Train mode, as :func:`~minidl.functional.batchnorm.batch_norm_train_forward`:
    x: (N, C, *) -> ``y = (x − μ)·γr + β`` (channels-last memory), and the cache."""
    xp = get_array_module(x)
    X = xp.ascontiguousarray(to_channel_columns(x))  # (M, C): a view of a channels-last x
    M = X.shape[0]
    if M < 2:
        raise ShapeError(f"batch_norm: x must hold more than 1 value per channel in train mode, "
                         f"got shape {tuple(x.shape)}")
    t, C = _repeat(X), X.shape[1]
    Xl, xc, Y = _long(X, t), xp.empty_like(X), xp.empty_like(X)
    xcl, Yl, parts = _long(xc, t), _long(Y, t), _row_shares(X, t)
    mean = _fold(sum_in_order(_on_shares(lambda r: Xl[r].sum(axis=0), parts)), C) / M
    mean_t = _per_pixel(xp, mean, t)

    def centre(r):  # x − μ, and its share of Σ (x − μ)²
        xp.subtract(Xl[r], mean_t, out=xcl[r])
        return xp.einsum("ml,ml->l", xcl[r], xcl[r])
    var = _fold(sum_in_order(_on_shares(centre, parts)), C) / M
    rstd = 1.0 / xp.sqrt(var + eps)
    scale = _per_pixel(xp, rstd if weight is None else weight * rstd, t)  # γr
    shift = _per_pixel(xp, 0.0 if bias is None else bias, t)
    _on_shares(lambda r: scale_shift(xcl[r], scale, shift, Yl[r]), parts)
    return from_channel_columns(Y, x.shape), BatchNormFastCache(xc, rstd, weight, bias, mean, var * (M / (M - 1)))


def batch_norm_fast_backward(dy, cache: BatchNormFastCache) -> dict:
    """``dx = γr·(dy − mean(dy) − (x − μ)·r·mean(dy ⊙ x̂))``, ``∂L/∂γ = r·Σ dy ⊙ (x − μ)``,
    ``∂L/∂β = Σ dy``. dy: (N, C, *) -> ``{"x", "weight", "bias"}`` (the last two when given)."""
    xp = get_array_module(dy)
    xc, rstd, weight = cache.x_centered, cache.rstd, cache.weight
    dY = xp.ascontiguousarray(to_channel_columns(dy))  # (M, C)
    (M, C), t = dY.shape, _repeat(dY)
    dYl, xcl, dX = _long(dY, t), _long(xc, t), xp.empty_like(dY)
    dXl, parts = _long(dX, t), _row_shares(dY, t)
    sums = _on_shares(lambda r: (dYl[r].sum(axis=0), xp.einsum("ml,ml->l", dYl[r], xcl[r])), parts)
    sum_dy = _fold(sum_in_order([s for s, _ in sums]), C)
    sum_dy_xhat = _fold(sum_in_order([d for _, d in sums]), C) * rstd  # Σ dy ⊙ x̂
    scale = rstd if weight is None else weight * rstd  # γr
    mean_dy, mean_dy_xhat, scale = (_per_pixel(xp, v, t) for v in (sum_dy / M, rstd * sum_dy_xhat / M, scale))
    _on_shares(lambda r: batch_norm_dx(dYl[r], xcl[r], mean_dy, mean_dy_xhat, scale, dXl[r]), parts)
    grads = {"x": from_channel_columns(dX, dy.shape)}
    if weight is not None:
        grads["weight"] = sum_dy_xhat
    if cache.bias is not None:
        grads["bias"] = sum_dy
    return grads
# --8<-- [end:batchnorm_fast]
