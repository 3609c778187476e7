"""Solution of ``softmax_cross_entropy_backward``: −log p_t = −z_t + log Σ_j e^{z_j}, whose
derivative with respect to z_j is p_j − [j = t]; the mean adds a factor 1/N."""

import numpy as np


def softmax_cross_entropy_backward(logits, target):
    """logits: (N, C), target: (N,) ints -> dlogits: (N, C)."""
    N = logits.shape[0]
    e = np.exp(logits - logits.max(axis=1, keepdims=True))
    p = e / e.sum(axis=1, keepdims=True)  # softmax, row by row
    p[np.arange(N), target] -= 1  # p − onehot(target)
    return p / N  # the mean over the batch
