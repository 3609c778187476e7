"""Elementwise activations and (log-)softmax: forwards and hand-derived backwards.

Elementwise ``y = f(x)`` has a diagonal Jacobian, so backward is a product:
``dx = dy ⊙ f'(x)``; we write ``f'`` in terms of the *output* where that is cheaper:

* ReLU:    y = max(x, 0),          f'(x) = [x > 0]
* tanh:    y = tanh(x),            f'(x) = 1 − y²
* sigmoid: y = 1 / (1 + e^{−x}),   f'(x) = y (1 − y)

Softmax over the last axis, ``p_i = e^{x_i} / Σ_j e^{x_j}``, has the Jacobian
``∂p_i/∂x_k = p_i (δ_ik − p_k)``, hence

    dx_k = Σ_i dy_i p_i (δ_ik − p_k) = p_k (dy_k − Σ_i dy_i p_i)

and log-softmax, ``ℓ_i = x_i − log Σ_j e^{x_j}``, has ``∂ℓ_i/∂x_k = δ_ik − p_k``:

    dx_k = dy_k − p_k Σ_i dy_i

Each pair keeps the functional contract: ``y, cache = f_forward(x)`` and
``grads = f_backward(dy, cache)`` with ``grads["x"]`` the input's gradient.
``sigmoid`` and ``logsumexp`` are plain functions the losses use too.
"""

from __future__ import annotations

from typing import NamedTuple

from ..backend import get_array_module
from .host_threads import split_rows

__all__ = [
    "ReluCache", "relu_forward", "relu_inplace_forward", "relu_backward", "TanhCache", "tanh_forward", "tanh_backward",
    "sigmoid", "SigmoidCache", "sigmoid_forward", "sigmoid_backward",
    "SoftmaxCache", "softmax_forward", "softmax_backward",
    "LogSoftmaxCache", "log_softmax_forward", "log_softmax_backward", "logsumexp",
]


# --8<-- [start:relu]
class ReluCache(NamedTuple):
    """What :func:`relu_backward` needs: the input (its sign picks the gradient's path)."""

    x: object


def relu_forward(x):
    """y = max(x, 0). x: any shape -> ``(y same shape, ReluCache)``.

    A large batch runs in pieces on the host's threads (:func:`~.host_threads.split_rows`):
    each element of y depends on the same element of x alone, so the numbers are the same."""
    xp = get_array_module(x)
    y = xp.empty_like(x)
    split_rows(lambda x, y: xp.maximum(x, 0, out=y), x, y)
    return y, ReluCache(x)


def relu_inplace_forward(x):
    """y = max(x, 0) written over ``x`` (the caller hands x over) -> ``(x, ReluCache(x))``.
    The cache then holds y, and y > 0 exactly where x > 0: :func:`relu_backward` is unchanged."""
    xp = get_array_module(x)
    split_rows(lambda x: xp.maximum(x, 0, out=x), x)
    return x, ReluCache(x)


def relu_backward(dy, cache: ReluCache) -> dict:
    """dx = dy ⊙ [x > 0] (the subgradient 0 is taken at x = 0, as PyTorch does) -> ``{"x": dx}``."""
    xp = get_array_module(dy)
    dx = xp.empty_like(dy)
    split_rows(lambda dy, x, dx: xp.multiply(dy, x > 0, out=dx), dy, cache.x, dx)
    return {"x": dx}
# --8<-- [end:relu]


# --8<-- [start:tanh]
class TanhCache(NamedTuple):
    """The output y = tanh(x): the derivative 1 − y² is cheapest from it."""

    y: object


def tanh_forward(x):
    """y = tanh(x). x: any shape -> ``(y same shape, TanhCache)``."""
    y = get_array_module(x).tanh(x)
    return y, TanhCache(y)


def tanh_backward(dy, cache: TanhCache) -> dict:
    """dx = dy ⊙ (1 − y²), from the *output* y = tanh(x) -> ``{"x": dx}``."""
    y = cache.y
    return {"x": dy * (1 - y * y)}
# --8<-- [end:tanh]


# --8<-- [start:sigmoid]
def sigmoid(x):
    """σ(x) = 1 / (1 + e^{−x}), exact in both tails, never overflowing.

    With ``e = e^{−|x|}`` (always in (0, 1], so it cannot overflow):

        σ(x) = 1 / (1 + e)      for x ≥ 0
        σ(x) = e / (1 + e)      for x < 0

    Both are the same function (multiply the first form's numerator and denominator by
    e^{x}); each is used where it involves no cancellation. The naive form overflows
    ``exp(−x)`` for x < −88.7 in float32; the form ½·tanh(x/2) + ½ does not, but adds ½ to a
    number near −½ in the left tail and loses every digit there (σ(−20) ≈ 2.1e-9 becomes
    exactly 0 in float32).
    """
    xp = get_array_module(x)
    e = xp.exp(-xp.abs(x))
    return xp.where(x >= 0, 1.0, e) / (1.0 + e)


class SigmoidCache(NamedTuple):
    """The output y = σ(x): σ' = y (1 − y)."""

    y: object


def sigmoid_forward(x):
    """y = σ(x), exact in both tails (see :func:`sigmoid`). x: any shape -> ``(y, SigmoidCache)``."""
    y = sigmoid(x)
    return y, SigmoidCache(y)


def sigmoid_backward(dy, cache: SigmoidCache) -> dict:
    """dx = dy ⊙ y (1 − y), from the output y = σ(x) -> ``{"x": dx}``."""
    y = cache.y
    return {"x": dy * y * (1 - y)}
# --8<-- [end:sigmoid]


# --8<-- [start:softmax]
def logsumexp(x, axis=-1, keepdims=True):
    """log Σ_j e^{x_j}, computed as m + log Σ e^{x_j − m} with m = max x (no overflow).
    (An empty axis has no max: its sum is 0 and its log −∞.)"""
    xp = get_array_module(x)
    if x.shape[axis] == 0:
        out = xp.full(x.shape[:axis % x.ndim] + (1,) + x.shape[axis % x.ndim + 1:], -xp.inf, dtype=x.dtype)
        return out if keepdims else out.squeeze(axis)
    m = x.max(axis=axis, keepdims=True)
    out = m + xp.log(xp.exp(x - m).sum(axis=axis, keepdims=True))
    return out if keepdims else out.squeeze(axis)


class SoftmaxCache(NamedTuple):
    """The output p and the axis it normalises."""

    p: object
    axis: int


def softmax_forward(x, *, axis=-1):
    """p = e^{x − max x} / Σ e^{x − max x} along ``axis`` -> ``(p same shape as x, SoftmaxCache)``."""
    xp = get_array_module(x)
    if x.size == 0:  # nothing to normalise (and an empty axis has no max)
        return x.copy(), SoftmaxCache(x.copy(), axis)
    e = xp.exp(x - x.max(axis=axis, keepdims=True))
    p = e / e.sum(axis=axis, keepdims=True)
    return p, SoftmaxCache(p, axis)


def softmax_backward(dy, cache: SoftmaxCache) -> dict:
    """dx = p ⊙ (dy − Σ_i dy_i p_i) -> ``{"x": dx}``."""
    p, axis = cache
    return {"x": p * (dy - (dy * p).sum(axis=axis, keepdims=True))}


class LogSoftmaxCache(NamedTuple):
    """The output ℓ = log p (softmax is exp ℓ) and the axis."""

    logp: object
    axis: int


def log_softmax_forward(x, *, axis=-1):
    """ℓ = x − logsumexp(x) along ``axis`` -> ``(ℓ same shape as x, LogSoftmaxCache)``."""
    if x.size == 0:
        return x.copy(), LogSoftmaxCache(x.copy(), axis)
    logp = x - logsumexp(x, axis=axis, keepdims=True)
    return logp, LogSoftmaxCache(logp, axis)


def log_softmax_backward(dy, cache: LogSoftmaxCache) -> dict:
    """dx = dy − softmax(x) ⊙ Σ_i dy_i, with softmax(x) = exp(ℓ) -> ``{"x": dx}``."""
    logp, axis = cache
    xp = get_array_module(logp)
    return {"x": dy - xp.exp(logp) * dy.sum(axis=axis, keepdims=True)}
# --8<-- [end:softmax]
