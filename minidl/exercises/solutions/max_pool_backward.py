"""Solution of ``max_pool_backward``: inside a window the max is the identity of its winner,
so dy[h, w] goes to that one pixel and the others get nothing. Windows overlap when the
stride is smaller than the window: a pixel that wins several collects every one's dy."""

import numpy as np


def max_pool_backward(dy, x, kernel_size, stride):
    """dy: (N, C, Ho, Wo); x: (N, C, H, W); kernel_size (kh, kw); stride s -> dx: (N, C, H, W)."""
    kh, kw = kernel_size
    dx = np.zeros_like(x)
    for h in range(dy.shape[2]):
        for w in range(dy.shape[3]):
            rows, cols = slice(h * stride, h * stride + kh), slice(w * stride, w * stride + kw)
            window = x[:, :, rows, cols]  # (N, C, kh, kw)
            winner = window == window.max(axis=(2, 3), keepdims=True)  # one True per (n, c): no ties
            dx[:, :, rows, cols] += winner * dy[:, :, h, w][:, :, None, None]  # += : windows overlap
    return dx
