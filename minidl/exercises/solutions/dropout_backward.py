"""Solution of ``dropout_backward``: y is x times a constant, mask/(1 − p), element by
element, so the gradient flows back through the same mask with the same scale."""


def dropout_backward(dy, mask, p):
    """dy, mask: the same shape; p: a float in [0, 1) -> dx: dy's shape."""
    return dy * mask / (1 - p)
