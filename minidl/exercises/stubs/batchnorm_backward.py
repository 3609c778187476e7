"""Exercise: the backward of batch normalisation in training mode.

Forward (given below), for x: (N, C), each column (channel) c normalised with the batch's
own statistics, then scaled and shifted (γ, β: (C,)):

    μ = (1/N) Σ_n x_n          σ² = (1/N) Σ_n (x_n − μ)²          (biased, per column)
    x̂_n = (x_n − μ) / √(σ² + ε)          y_n = γ ⊙ x̂_n + β

Given dy = ∂L/∂y: (N, C), return (dx (N, C), dgamma (C,), dbeta (C,)).

Hint: dgamma and dbeta are one line each. For dx, every x̂_n depends on every x_k of its
column through μ and σ²: there are three paths from x_k to the loss (directly, through μ,
through σ²). Derive ∂L/∂x̂ first, then chain through σ² and μ, or use
∂x̂_n/∂x_k = (r/N)(N δ_nk − 1 − x̂_n x̂_k) with r = 1/√(σ² + ε).

Check it:  python -m minidl.exercises check batchnorm_backward
"""

import numpy as np


def batchnorm_forward(x, gamma, beta, eps):
    """Given: x: (N, C), gamma, beta: (C,) -> y: (N, C)."""
    mu = x.mean(axis=0)
    var = ((x - mu) ** 2).mean(axis=0)
    x_hat = (x - mu) / np.sqrt(var + eps)
    return gamma * x_hat + beta


def batchnorm_backward(dy, x, gamma, eps):
    """dy, x: (N, C), gamma: (C,), eps: a float -> (dx (N, C), dgamma (C,), dbeta (C,))."""
    raise NotImplementedError("write the three gradients of batch normalisation (train mode)")
