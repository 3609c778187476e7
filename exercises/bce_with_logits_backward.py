"""Exercise: the backward of binary cross-entropy on logits.

Forward (given below), for logits z and targets t ∈ [0, 1] of the same shape (n elements
in all), averaged over every element:

    σ = 1 / (1 + e^{−z}),      L = (1/n) Σ −[t log σ(z) + (1 − t) log(1 − σ(z))]

Return dz = ∂L/∂z (z's shape).

Hint: use σ'(z) = σ(z)(1 − σ(z)); most of it cancels. The mean is over all n elements,
not only the rows.

Check it:  python -m minidl.exercises check bce_with_logits_backward
"""

import numpy as np


def bce_with_logits(logits, target):
    """Given: the mean BCE of σ(logits) against target, in the form that never overflows."""
    z = logits
    return (np.maximum(z, 0) - z * target + np.log1p(np.exp(-np.abs(z)))).mean()


def bce_with_logits_backward(logits, target):
    """logits, target: the same shape -> dlogits: that shape."""
    raise NotImplementedError("write ∂L/∂logits of the mean BCE")
