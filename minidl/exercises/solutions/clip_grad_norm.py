"""Solution of ``clip_grad_norm``: one norm over every element of every gradient, and one
factor for all of them, so the whole gradient keeps its direction. Clipping each tensor to
its own norm would bend it; scaling when the norm is under the threshold would stretch it."""

import numpy as np


def clip_grad_norm(grad_w, grad_b, grad_u, max_norm):
    """grad_w: (H, D), grad_b: (H,), grad_u: (H, H); max_norm: a float > 0
    -> (clipped grad_w, clipped grad_b, clipped grad_u, norm: the global norm before clipping)."""
    grads = (grad_w, grad_b, grad_u)
    norm = np.sqrt(sum(np.sum(g * g) for g in grads))  # the global L2 norm, before clipping
    scale = max_norm / (norm + 1e-6) if norm > max_norm else 1.0  # only when it is over
    return tuple(g * scale for g in grads) + (norm,)
