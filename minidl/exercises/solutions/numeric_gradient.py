"""Solution of ``numeric_gradient``: one element at a time, nudged up and down by ε on a copy
of x, the difference of the two values over 2ε. Nudging every element at once would give
the sum of the gradient's elements (the derivative along the all-ones direction) everywhere."""

import numpy as np


def numeric_gradient(f, x, eps):
    """f: a function of one array of x's shape returning a float; x: an array (any shape, float64);
    eps: the step, a float -> the estimate of ∂f/∂x, an array of x's shape."""
    grad = np.zeros_like(x)
    nudged = x.copy()  # x itself is left alone
    for i in np.ndindex(x.shape):  # every index tuple of x, one element at a time
        nudged[i] = x[i] + eps
        plus = f(nudged)
        nudged[i] = x[i] - eps
        minus = f(nudged)
        nudged[i] = x[i]  # restored before the next element is nudged
        grad[i] = (plus - minus) / (2 * eps)
    return grad
