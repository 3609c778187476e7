"""Loss modules. ``loss = criterion(input, target)`` is a 0-d array on the input's device
(``float(loss)`` works); ``criterion.backward(upstream=1.0)`` returns ∂loss/∂input.
The maths is in :mod:`minidl.functional.losses`.

Checked on the way in (each a :mod:`minidl.errors` error naming the argument): the input
is a floating array of the right shape, the target has the input's shape (binary losses)
or is an integer array of shape (N,) with labels in [0, C) (class losses), probabilities
and binary targets lie in [0, 1] (NaN is refused there, where it would pass a range test
silently), and ``reduction="mean"`` has at least one element to average.
"""

from __future__ import annotations

from .. import backend
from ..backend import get_array_module
from ..checks import check_choice, check_float, check_shape, check_upstream_scalar
from ..errors import DTypeError, IndexRangeError, RangeError, ShapeError
from ..functional.losses import (
    REDUCTIONS,
    bce_backward,
    bce_forward,
    bce_with_logits_backward,
    bce_with_logits_forward,
    cross_entropy_backward,
    cross_entropy_forward,
    nll_backward,
    nll_forward,
)
from ..module import Module

__all__ = ["BCELoss", "BCEWithLogitsLoss", "CrossEntropyLoss", "NLLLoss"]


def _check_unit_interval(a, name: str, who: str) -> None:
    """Every element in [0, 1]; written as "not (0 ≤ a ≤ 1)" so that NaN is caught too."""
    xp = get_array_module(a)
    if a.size and bool(xp.any(~((a >= 0) & (a <= 1)))):
        bad = a[~((a >= 0) & (a <= 1))].reshape(-1)[:1]
        raise RangeError(f"{who}: {name} must lie in [0, 1], got {float(bad[0])!r}")


class _Loss(Module):
    """A loss wraps one functional pair: ``loss, cache = pair_forward(x, target, reduction=...)``,
    ``grads = pair_backward(dloss, cache)``; each loss names its pair."""

    pair_forward = pair_backward = None

    def __init__(self, reduction: str = "mean"):
        super().__init__()
        self.reduction = check_choice(reduction, REDUCTIONS, "reduction", type(self).__name__)

    def extra_repr(self) -> str:
        return "" if self.reduction == "mean" else f"reduction={self.reduction!r}"

    def _input(self, x):
        who = type(self).__name__
        check_float(x, "input", who)
        if self.reduction == "mean" and x.size == 0:
            raise ShapeError(f"{who}: input must have at least one element to average (reduction='mean'), "
                             f"got shape {tuple(x.shape)}")
        return x

    def forward(self, x, target):
        x = self._input(x)
        t = self._target(x, self._where_they_are(target))  # checked before the copy: free on host labels
        loss, cache = self.pair_forward(x, self._target_like(x, t), reduction=self.reduction)
        self.save_for_backward(cache)
        return loss

    @staticmethod
    def _where_they_are(target):
        """The labels as an array where they are (a list becomes a host array)."""
        return target if hasattr(target, "dtype") else backend.asnumpy(target)

    @staticmethod
    def _target_like(x, target):
        """Labels usually arrive from the host with the batch; this is the one explicit copy."""
        return get_array_module(x).asarray(target)

    def backward(self, upstream=1.0):
        cache = self.saved()
        dloss = check_upstream_scalar(upstream, type(self).__name__)
        return self.pair_backward(dloss, cache)["x"]


class _BinaryLoss(_Loss):
    def _target(self, x, t):
        who = type(self).__name__
        if t.dtype.kind not in "fiub":
            raise DTypeError(f"{who}: target must be a real array, got dtype {t.dtype}")
        check_shape(t, tuple(x.shape), "target", who)
        t = t.astype(x.dtype, copy=False)
        _check_unit_interval(t, "target", who)
        return t


class BCELoss(_BinaryLoss):
    """Binary cross-entropy on probabilities. input p: (N, *) in [0, 1], target: same shape.
    ℓ = −[t log p + (1 − t) log(1 − p)], each log clamped at −100 as in PyTorch."""

    pair_forward, pair_backward = staticmethod(bce_forward), staticmethod(bce_backward)

    def _input(self, x):
        x = super()._input(x)
        _check_unit_interval(x, "input (probabilities; use BCEWithLogitsLoss on logits)", "BCELoss")
        return x


class BCEWithLogitsLoss(_BinaryLoss):
    """BCE on logits z (any shape), stable for any z: ∂ℓ/∂z = σ(z) − t."""

    pair_forward, pair_backward = staticmethod(bce_with_logits_forward), staticmethod(bce_with_logits_backward)


class _ClassLoss(_Loss):
    def _target(self, x, t):
        who = type(self).__name__
        if x.ndim != 2 or x.shape[1] == 0:
            raise ShapeError(f"{who}: input must have shape (N, C) with C ≥ 1 classes, got {tuple(x.shape)}")
        check_shape(t, (x.shape[0],), "target", who)
        if t.dtype.kind not in "iu":
            raise DTypeError(f"{who}: target must be integer class indices, got dtype {t.dtype}")
        n_classes = x.shape[1]
        # (min, max) in one device-to-host copy when the labels live on the device
        if not t.size:
            lo = hi = 0
        elif backend.device_of(t) == "cpu":  # host labels: two reductions, no copy to make
            lo, hi = int(t.min()), int(t.max())
        else:
            lo, hi = (int(v) for v in backend.asnumpy(get_array_module(t).stack([t.min(), t.max()])))
        if lo < 0 or hi >= n_classes:
            bad = lo if lo < 0 else hi
            raise IndexRangeError(f"{who}: target must hold class indices in [0, {n_classes}), "
                                  f"got class target {bad}")
        return t


class CrossEntropyLoss(_ClassLoss):
    """Softmax cross-entropy on logits. input z: (N, C), target: (N,) ints in [0, C).
    ℓ = logsumexp(z) − z_target; ∂ℓ/∂z = softmax(z) − onehot(target)."""

    pair_forward, pair_backward = staticmethod(cross_entropy_forward), staticmethod(cross_entropy_backward)


class NLLLoss(_ClassLoss):
    """Negative log-likelihood of log-probabilities a: (N, C) (from LogSoftmax), target (N,).
    ℓ = −a_target. Nothing is clamped: fed raw scores it is unbounded below (report B §4.2)."""

    pair_forward, pair_backward = staticmethod(nll_forward), staticmethod(nll_backward)

