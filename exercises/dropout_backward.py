"""Exercise: the backward of inverted dropout, for a given mask.

Forward (given below): each unit is kept with probability q = 1 − p; the kept ones are
scaled by 1/q so that the expected output equals the input:

    y = x ⊙ mask / (1 − p)          mask: 0 or 1, x's shape

The mask was drawn in the forward pass and is a constant of it. Given dy = ∂L/∂y, return
dx = ∂L/∂x (x's shape).

Check it:  python -m minidl.exercises check dropout_backward
"""


def dropout_forward(x, mask, p):
    """Given: y = x ⊙ mask / (1 − p). x, mask: the same shape; p: the drop probability."""
    return x * mask / (1 - p)


def dropout_backward(dy, mask, p):
    """dy, mask: the same shape; p: a float in [0, 1) -> dx: dy's shape."""
    raise NotImplementedError("write ∂L/∂x of y = x ⊙ mask / (1 − p)")
