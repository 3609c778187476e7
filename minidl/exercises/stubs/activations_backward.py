"""Exercise: the backward passes of ReLU, the sigmoid and tanh.

Forwards (given below), elementwise on x of any shape:

    ReLU:     y = max(x, 0)
    sigmoid:  y = σ(x) = 1 / (1 + e^{−x})
    tanh:     y = tanh(x)

An elementwise function has a diagonal Jacobian, so each backward is a product
dx = dy ⊙ f'(x). Given dy = ∂L/∂y (x's shape) for each of the three, return

    (dx_relu, dx_sigmoid, dx_tanh)           each of x's shape

Hint: write σ'(x) and tanh'(x) in terms of the forward's *output* y; ReLU's derivative
at x = 0 is taken to be 0 (the grader never draws x = 0).

Check it:  python -m minidl.exercises check activations_backward
"""

import numpy as np


def relu(x):
    """Given: max(x, 0)."""
    return np.maximum(x, 0)


def sigmoid(x):
    """Given: 1 / (1 + e^{−x})."""
    return 1 / (1 + np.exp(-x))


def activations_backward(dy, x):
    """dy, x: the same shape -> (dx_relu, dx_sigmoid, dx_tanh), each of that shape."""
    raise NotImplementedError("write the three backwards: dx = dy ⊙ f'(x)")
