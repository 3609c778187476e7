"""Exercise: the backward pass of a linear (affine) layer.

Forward (given below), for a batch of N rows x: (N, D), a weight W: (M, D) (PyTorch's
layout: one row per output) and a bias b: (M,):

    y = x Wᵀ + b                                    y: (N, M)

Given the upstream gradient dy = ∂L/∂y: (N, M), derive and return

    dx = ∂L/∂x: (N, D),    dW = ∂L/∂W: (M, D),    db = ∂L/∂b: (M,)

Hint: write one element, y_nm = Σ_d x_nd W_md + b_m, differentiate it, and sum dy against
it. Each gradient has the shape of what it differentiates: check your shapes first.

Check it:  python -m minidl.exercises check linear_backward
"""


def linear_forward(x, W, b):
    """Given: y = x Wᵀ + b.  x: (N, D), W: (M, D), b: (M,) -> y: (N, M)."""
    return x @ W.T + b


def linear_backward(dy, x, W):
    """dy: (N, M), x: (N, D), W: (M, D) -> (dx (N, D), dW (M, D), db (M,))."""
    raise NotImplementedError("write the backward of y = x Wᵀ + b")
