"""Losses: forward value and the gradient with respect to the loss's input.

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

from ..backend import get_array_module
from .activations import log_softmax_forward, sigmoid

__all__ = [
    "check_class_targets", "reduce_loss", "reduction_scale",
    "bce_forward", "bce_backward", "bce_with_logits_forward", "bce_with_logits_backward",
    "cross_entropy_forward", "cross_entropy_backward", "nll_forward", "nll_backward",
]

_REDUCTIONS = ("mean", "sum")


def check_class_targets(target, num_classes: int, n: int) -> None:
    """Refuse class targets that are not integers of shape (n,) in [0, num_classes)."""
    if target.ndim != 1 or target.shape[0] != n:
        raise ValueError(f"expected class targets of shape ({n},), got {tuple(target.shape)}")
    if target.dtype.kind not in "iu":
        raise TypeError(f"expected integer class targets, got dtype {target.dtype}")
    if n and (int(target.min()) < 0 or int(target.max()) >= num_classes):
        bad = int(target.min()) if int(target.min()) < 0 else int(target.max())
        raise ValueError(f"class target {bad} is outside [0, {num_classes}) for {num_classes} classes")


def reduction_scale(reduction: str, n: int) -> float:
    """The factor each per-sample gradient carries: 1/n for ``"mean"``, 1 for ``"sum"``."""
    if reduction not in _REDUCTIONS:
        raise ValueError(f"reduction must be one of {_REDUCTIONS}, got {reduction!r}")
    return 1.0 / max(n, 1) if reduction == "mean" else 1.0


def reduce_loss(per_sample, reduction: str):
    """0-d array: mean or sum of the per-sample losses."""
    return per_sample.mean() if reduction == "mean" else per_sample.sum()


# --8<-- [start:bce]
def bce_forward(p, t):
    """Per-element BCE of probabilities p against targets t (same shape), logs clamped at −100."""
    xp = get_array_module(p)
    log_p = xp.maximum(xp.log(xp.maximum(p, 0)), -100)
    log_1mp = xp.maximum(xp.log(xp.maximum(1 - p, 0)), -100)
    return -(t * log_p + (1 - t) * log_1mp)


def bce_backward(p, t, scale):
    """∂ℓ/∂p = −t/p + (1 − t)/(1 − p) = (p − t) / (p (1 − p)).

    The single-fraction form is PyTorch's; its denominator is floored at 1e-12, so the
    gradient stays finite (if huge) where a log was clamped, exactly as PyTorch's does.
    """
    xp = get_array_module(p)
    return scale * (p - t) / xp.maximum(p * (1 - p), 1e-12)


# --8<-- [end:bce]


# --8<-- [start:bce_logits]
def bce_with_logits_forward(z, t):
    """Per-element BCE of σ(z) against t, as max(z,0) − z t + log(1 + e^{−|z|})."""
    xp = get_array_module(z)
    return xp.maximum(z, 0) - z * t + xp.log1p(xp.exp(-xp.abs(z)))


def bce_with_logits_backward(z, t, scale):
    """∂ℓ/∂z = (σ(z) − t) · scale. z, t: same shape -> same shape."""
    return scale * (sigmoid(z) - t)
# --8<-- [end:bce_logits]


# --8<-- [start:cross_entropy]
def cross_entropy_forward(z, target):
    """z: (N, C) logits, target: (N,) ints -> per-sample loss (N,) and log p (N, C)."""
    xp = get_array_module(z)
    logp = log_softmax_forward(z, axis=-1)
    return -logp[xp.arange(z.shape[0]), target], logp


def cross_entropy_backward(logp, target, scale):
    """∂ℓ/∂z = (softmax(z) − onehot(target)) · scale."""
    xp = get_array_module(logp)
    dz = xp.exp(logp)
    dz[xp.arange(logp.shape[0]), target] -= 1
    return dz * scale
# --8<-- [end:cross_entropy]


# --8<-- [start:nll]
def nll_forward(a, target):
    """a: (N, C) log-probabilities (not checked!), target: (N,) -> per-sample −a[n, t_n]."""
    xp = get_array_module(a)
    return -a[xp.arange(a.shape[0]), target]


def nll_backward(a, target, scale):
    """∂ℓ/∂a = −onehot(target) · scale. a: (N, C), target: (N,) -> (N, C)."""
    xp = get_array_module(a)
    da = xp.zeros_like(a)
    da[xp.arange(a.shape[0]), target] = -scale
    return da
# --8<-- [end:nll]
