"""Loss modules. ``loss = criterion(input, target)`` is a 0-d array on the input's device
(``float(loss)`` works); ``criterion.backward(upstream=1.0)`` returns ∂loss/∂input.
The maths is in :mod:`minidl.functional.losses`."""

from __future__ import annotations

from .. import backend
from ..backend import get_array_module
from ..functional import losses as F
from ..module import Module

__all__ = ["BCELoss", "BCEWithLogitsLoss", "CrossEntropyLoss", "NLLLoss"]


def _min_max(a) -> tuple:
    """(min, max) of a non-empty array as Python floats, in one device-to-host copy."""
    if not a.size:
        return 0.0, 0.0
    lo, hi = backend.asnumpy(get_array_module(a).stack([a.min(), a.max()]).astype("float64"))
    return float(lo), float(hi)


class _Loss(Module):
    def __init__(self, reduction: str = "mean"):
        super().__init__()
        F.reduction_scale(reduction, 1)  # validates the name
        self.reduction = reduction

    def extra_repr(self) -> str:
        return "" if self.reduction == "mean" else f"reduction={self.reduction!r}"

    @staticmethod
    def _target_like(x, target):
        # Labels usually arrive from the host with the batch; this is the one explicit copy.
        return get_array_module(x).asarray(target)

    @staticmethod
    def _where_they_are(target):
        """The labels as an array where they are (a list becomes a NumPy array): checked
        there, host labels cost no device-to-host copy."""
        return target if hasattr(target, "dtype") else backend.numpy.asarray(target)


class _BinaryLoss(_Loss):
    def _check(self, x, t):
        if tuple(t.shape) != tuple(x.shape):
            raise ValueError(
                f"{type(self).__name__}: target shape {tuple(t.shape)} must equal input shape {tuple(x.shape)}"
            )
        lo, hi = _min_max(t)
        if lo < 0 or hi > 1:
            raise ValueError(f"{type(self).__name__}: targets must lie in [0, 1], got range [{lo}, {hi}]")

    def forward(self, x, target):
        t = self._where_they_are(target)
        self._check(x, t)  # the targets before their copy to the device
        t = self._target_like(x, t).astype(x.dtype)
        per = self._per_element(x, t)
        self.save_for_backward((x, t))
        return F.reduce_loss(per, self.reduction)

    def backward(self, upstream=1.0):
        x, t = self.saved()
        return self._grad(x, t, F.reduction_scale(self.reduction, x.size) * upstream)


class BCELoss(_BinaryLoss):
    """Binary cross-entropy on probabilities. input p: (N, *) in [0, 1], target: same shape.
    ℓ = −[t log p + (1 − t) log(1 − p)], each log clamped at −100 as in PyTorch."""

    def _check(self, x, t):
        super()._check(x, t)
        lo, hi = _min_max(x)
        if lo < 0 or hi > 1:
            raise ValueError("BCELoss: inputs must be probabilities in [0, 1] (use BCEWithLogitsLoss on logits)")

    def _per_element(self, p, t):
        return F.bce_forward(p, t)

    def _grad(self, p, t, scale):
        return F.bce_backward(p, t, scale)


class BCEWithLogitsLoss(_BinaryLoss):
    """BCE on logits z (any shape), stable for any z: ∂ℓ/∂z = σ(z) − t."""

    def _per_element(self, z, t):
        return F.bce_with_logits_forward(z, t)

    def _grad(self, z, t, scale):
        return F.bce_with_logits_backward(z, t, scale)


class _ClassLoss(_Loss):
    def _prepare(self, x, target):
        if x.ndim != 2:
            raise ValueError(f"{type(self).__name__} expects input of shape (N, C), got {tuple(x.shape)}")
        t = self._where_they_are(target)
        F.check_class_targets(t, x.shape[1], x.shape[0])  # before the copy: free on host labels
        return self._target_like(x, t)


class CrossEntropyLoss(_ClassLoss):
    """Softmax cross-entropy on logits. input z: (N, C), target: (N,) ints in [0, C).
    ℓ = logsumexp(z) − z_target; ∂ℓ/∂z = softmax(z) − onehot(target)."""

    def forward(self, z, target):
        t = self._prepare(z, target)
        per, logp = F.cross_entropy_forward(z, t)
        self.save_for_backward((logp, t))
        return F.reduce_loss(per, self.reduction)

    def backward(self, upstream=1.0):
        logp, t = self.saved()
        return F.cross_entropy_backward(logp, t, F.reduction_scale(self.reduction, logp.shape[0]) * upstream)


class NLLLoss(_ClassLoss):
    """Negative log-likelihood of log-probabilities a: (N, C) (from LogSoftmax), target (N,).
    ℓ = −a_target. Nothing is clamped: fed raw scores it is unbounded below (report B §4.2)."""

    def forward(self, a, target):
        t = self._prepare(a, target)
        self.save_for_backward((a, t))
        return F.reduce_loss(F.nll_forward(a, t), self.reduction)

    def backward(self, upstream=1.0):
        a, t = self.saved()
        return F.nll_backward(a, t, F.reduction_scale(self.reduction, a.shape[0]) * upstream)
