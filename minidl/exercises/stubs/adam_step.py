"""Exercise: one step of Adam, with bias correction.

Given a parameter θ, its gradient g, Adam's moving averages m and v after t − 1 steps
(all of θ's shape), and the step number t ≥ 1, Adam (Kingma and Ba) does

    m ← β₁ m + (1 − β₁) g                 (a moving average of the gradient)
    v ← β₂ v + (1 − β₂) g²                (a moving average of its square)
    m̂ = m / (1 − β₁ᵗ),   v̂ = v / (1 − β₂ᵗ)   (bias correction: m and v start at 0)
    θ ← θ − η m̂ / (√v̂ + ε)

Return the new (θ, m, v). Do not change the arrays you were given: return new ones.

Check it:  python -m minidl.exercises check adam_step
"""

import numpy as np  # noqa: F401  (you will need np.sqrt)


def adam_step(param, grad, m, v, t, lr, beta1, beta2, eps):
    """param, grad, m, v: the same shape; t: the step number (1 for the first);
    lr, beta1, beta2, eps: floats -> (new param, new m, new v)."""
    raise NotImplementedError("write one Adam update with bias correction")
