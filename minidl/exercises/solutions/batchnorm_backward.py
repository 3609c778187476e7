"""Solution of ``batchnorm_backward``. With r = 1/√(σ² + ε) and g = γ ⊙ dy = ∂L/∂x̂, summing
g against ∂x̂_n/∂x_k = (r/N)(N δ_nk − 1 − x̂_n x̂_k) gives the compact form

    dx = γ r (dy − mean(dy) − x̂ ⊙ mean(dy ⊙ x̂))

whose three terms are the three paths: direct, through μ, through σ²."""

import numpy as np


def batchnorm_backward(dy, x, gamma, eps):
    """dy, x: (N, C), gamma: (C,), eps: a float -> (dx (N, C), dgamma (C,), dbeta (C,))."""
    mu = x.mean(axis=0)
    r = 1 / np.sqrt(((x - mu) ** 2).mean(axis=0) + eps)  # 1/√(σ² + ε), per column
    x_hat = (x - mu) * r
    dbeta = dy.sum(axis=0)
    dgamma = (dy * x_hat).sum(axis=0)
    dx = gamma * r * (dy - dy.mean(axis=0) - x_hat * (dy * x_hat).mean(axis=0))
    return dx, dgamma, dbeta
