"""Solution of ``adam_step``: the two moving averages, their bias corrections (m and v
start at zero, so early averages are too small by the factors 1 − βᵗ), then the step."""

import numpy as np


def adam_step(param, grad, m, v, t, lr, beta1, beta2, eps):
    """param, grad, m, v: the same shape; t: the step number (1 for the first);
    lr, beta1, beta2, eps: floats -> (new param, new m, new v)."""
    m = beta1 * m + (1 - beta1) * grad
    v = beta2 * v + (1 - beta2) * grad * grad
    m_hat = m / (1 - beta1**t)
    v_hat = v / (1 - beta2**t)
    param = param - lr * m_hat / (np.sqrt(v_hat) + eps)
    return param, m, v
