"""Exercise: the fused backward of softmax followed by cross-entropy.

Forward (given below), for logits z: (N, C) and integer class targets t: (N,), averaged
over the batch:

    p_n = softmax(z_n),      L = (1/N) Σ_n −log p_n[t_n]

Return dz = ∂L/∂z: (N, C), derived through the two steps at once ("fused"): the
softmax's Jacobian and the log's 1/p cancel to something very simple.

Hint: for one row, −log p_t = −z_t + log Σ_j e^{z_j}; differentiate with respect to z_j.
Do not forget the mean over the batch.

Check it:  python -m minidl.exercises check softmax_cross_entropy_backward
"""

import numpy as np


def softmax_cross_entropy(logits, target):
    """Given: the mean cross-entropy. logits: (N, C), target: (N,) ints -> a float."""
    z = logits - logits.max(axis=1, keepdims=True)  # the same softmax, no overflow
    logp = z - np.log(np.exp(z).sum(axis=1, keepdims=True))
    return -logp[np.arange(len(target)), target].mean()


def softmax_cross_entropy_backward(logits, target):
    """logits: (N, C), target: (N,) ints -> dlogits: (N, C)."""
    raise NotImplementedError("write ∂L/∂logits of the mean cross-entropy")
