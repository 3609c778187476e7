"""Losses: forward value and the gradient with respect to the loss's input.

Each loss is a pair like any other (the functional contract)::

    loss, cache = cross_entropy_forward(x, target, reduction="mean")   # loss: a 0-d array
    grads = cross_entropy_backward(dloss, cache)                       # {"x": ∂(dloss·loss)/∂x}

``dloss`` is the upstream gradient of the scalar loss (1.0 when the loss is the objective).
The target is not differentiated: it gets no entry in ``grads``.

With N samples and reduction ``mean`` every per-sample gradient carries a factor 1/N
(``sum``: no factor). Below, ``t`` is the target, ``x`` the input.

* **BCE on probabilities** p ∈ [0, 1]:  ℓ = −[t log p + (1 − t) log(1 − p)].
  PyTorch clamps each log at −100 so that p = 0 or 1 gives a finite loss;
  ∂ℓ/∂p = −t/p + (1 − t)/(1 − p) = (p − t)/(p(1 − p)), denominator floored at 1e-12.
* **BCE with logits** z:  ℓ = max(z, 0) − z t + log(1 + e^{−|z|})  (never overflows),
  ∂ℓ/∂z = σ(z) − t.
* **Cross-entropy on logits** z: (N, C), class c:  ℓ = −z_c + log Σ_j e^{z_j},
  ∂ℓ/∂z_j = softmax(z)_j − [j = c].
* **NLL on log-probabilities** a: (N, C):  ℓ = −a_c,  ∂ℓ/∂a_j = −[j = c].
  NLL trusts that a = log_softmax(z). Fed raw scores instead, nothing bounds ℓ = −z_c
  from below: gradient descent raises z_c forever and the loss runs to −∞ (report B §4.2).
"""

from __future__ import annotations

from typing import NamedTuple

from ..backend import get_array_module
from ..errors import RangeError
from .activations import log_softmax_forward, sigmoid

__all__ = [
    "REDUCTIONS", "reduce_loss", "reduction_scale", "clamped_log",
    "BCECache", "bce_forward", "bce_backward",
    "BCEWithLogitsCache", "bce_with_logits_forward", "bce_with_logits_backward",
    "CrossEntropyCache", "cross_entropy_forward", "cross_entropy_backward",
    "NLLCache", "nll_forward", "nll_backward",
]

REDUCTIONS = ("mean", "sum")


def reduction_scale(reduction: str, n: int) -> float:
    """The factor each per-sample gradient carries: 1/n for ``"mean"``, 1 for ``"sum"``."""
    if reduction not in REDUCTIONS:
        raise RangeError(f"reduction must be one of {REDUCTIONS}, got {reduction!r}")
    return 1.0 / max(n, 1) if reduction == "mean" else 1.0


def reduce_loss(per_sample, reduction: str):
    """0-d array: mean or sum of the per-sample losses."""
    return per_sample.mean() if reduction == "mean" else per_sample.sum()


# --8<-- [start:bce]
def clamped_log(v):
    """max(log v, −100), as PyTorch's BCE: finite at v = 0, and no log(0) is ever evaluated."""
    xp = get_array_module(v)
    positive = v > 0
    return xp.where(positive, xp.maximum(xp.log(xp.where(positive, v, 1)), -100), -100)


class BCECache(NamedTuple):
    """The probabilities p, the targets t, and the reduction's factor (1/N or 1)."""

    p: object
    target: object
    scale: float


def bce_forward(x, target, *, reduction="mean"):
    """BCE of probabilities x ∈ [0, 1] against targets t (same shape), each log clamped at
    −100 as PyTorch does -> ``(loss 0-d, BCECache)``."""
    per_element = -(target * clamped_log(x) + (1 - target) * clamped_log(1 - x))
    return reduce_loss(per_element, reduction), BCECache(x, target, reduction_scale(reduction, x.size))


def bce_backward(dloss, cache: BCECache) -> dict:
    """∂ℓ/∂p = −t/p + (1 − t)/(1 − p) = (p − t) / (p (1 − p)), times dloss and 1/N.

    The single-fraction form is PyTorch's; its denominator is floored at 1e-12, so the
    gradient stays finite (if huge) where a log was clamped, exactly as PyTorch's does.
    """
    p, t, scale = cache
    xp = get_array_module(p)
    return {"x": (dloss * scale) * (p - t) / xp.maximum(p * (1 - p), 1e-12)}


# --8<-- [end:bce]


# --8<-- [start:bce_logits]
class BCEWithLogitsCache(NamedTuple):
    """The logits z, the targets t, and the reduction's factor."""

    z: object
    target: object
    scale: float


def bce_with_logits_forward(x, target, *, reduction="mean"):
    """BCE of σ(z) against t for logits z = x (any shape), as max(z,0) − z t + log(1 + e^{−|z|}),
    which never overflows -> ``(loss 0-d, BCEWithLogitsCache)``."""
    xp = get_array_module(x)
    per_element = xp.maximum(x, 0) - x * target + xp.log1p(xp.exp(-xp.abs(x)))
    return reduce_loss(per_element, reduction), BCEWithLogitsCache(x, target, reduction_scale(reduction, x.size))


def bce_with_logits_backward(dloss, cache: BCEWithLogitsCache) -> dict:
    """∂ℓ/∂z = σ(z) − t, times dloss and 1/N -> ``{"x": dz}``."""
    z, t, scale = cache
    return {"x": (dloss * scale) * (sigmoid(z) - t)}
# --8<-- [end:bce_logits]


# --8<-- [start:cross_entropy]
class CrossEntropyCache(NamedTuple):
    """log p = log_softmax(z) (softmax is its exp), the class targets, the reduction's factor."""

    logp: object
    target: object
    scale: float


def cross_entropy_forward(x, target, *, reduction="mean"):
    """x: (N, C) logits z, target: (N,) class ids -> ``(loss 0-d, CrossEntropyCache)``,
    ℓ_n = −log softmax(z_n)[t_n]: the NLL of the log-softmax (:func:`nll_forward` below)."""
    logp, _ = log_softmax_forward(x, axis=-1)
    loss, nll = nll_forward(logp, target, reduction=reduction)
    return loss, CrossEntropyCache(logp, target, nll.scale)


def cross_entropy_backward(dloss, cache: CrossEntropyCache) -> dict:
    """∂ℓ/∂z = softmax(z) − onehot(target), times dloss and 1/N -> ``{"x": dz (N, C)}``."""
    logp, target, scale = cache
    xp = get_array_module(logp)
    dz = xp.exp(logp)
    dz[xp.arange(logp.shape[0]), target] -= 1
    return {"x": dz * (dloss * scale)}
# --8<-- [end:cross_entropy]


# --8<-- [start:nll]
class NLLCache(NamedTuple):
    """The input (for its shape, dtype and device), the class targets, the reduction's factor."""

    a: object
    target: object
    scale: float


def nll_forward(x, target, *, reduction="mean"):
    """x: (N, C) log-probabilities a (not checked!), target: (N,) -> ``(loss 0-d, NLLCache)``,
    ℓ_n = −a[n, t_n]."""
    xp = get_array_module(x)
    per_sample = -x[xp.arange(x.shape[0]), target]
    return reduce_loss(per_sample, reduction), NLLCache(x, target, reduction_scale(reduction, x.shape[0]))


def nll_backward(dloss, cache: NLLCache) -> dict:
    """∂ℓ/∂a = −onehot(target), times dloss and 1/N -> ``{"x": da (N, C)}``."""
    a, target, scale = cache
    xp = get_array_module(a)
    da = xp.zeros_like(a)
    da[xp.arange(a.shape[0]), target] = -(dloss * scale)
    return {"x": da}
# --8<-- [end:nll]
