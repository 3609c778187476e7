"""Exercise: col2im, the adjoint of im2col (chapter: convolution-resnet.md).

im2col (given below) copies every k×k window of the zero-padded image x̃ into one row of
a matrix: for x: (N, C, H, W), kernel size k, stride s and padding p,

    cols[(n, h, w), (i, j, c)] = x̃[n, c, h·s + i, w·s + j]        cols: (N·Ho·Wo, k·k·C)
    Ho = (H + 2p − k) // s + 1        (and Wo likewise)

row index (n, h, w) = n·Ho·Wo + h·Wo + w, column index (i, j, c) = i·k·C + j·C + c.

Given dcols = ∂L/∂cols: (N·Ho·Wo, k·k·C), return dx = ∂L/∂x: (N, C, H, W).

Hint: a pixel read by several windows receives the gradient of every copy. Work on the
padded image, then crop.

Check it:  python -m minidl.exercises check col2im
"""

import numpy as np


def im2col(x, kernel_size, stride, padding):
    """Given: x: (N, C, H, W) -> cols: (N·Ho·Wo, k·k·C), one loop over the kernel offsets."""
    N, C, H, W = x.shape
    k, s, p = kernel_size, stride, padding
    Ho, Wo = (H + 2 * p - k) // s + 1, (W + 2 * p - k) // s + 1
    xp = np.pad(x, ((0, 0), (0, 0), (p, p), (p, p)))
    cols = np.empty((N, Ho, Wo, k, k, C))
    for i in range(k):
        for j in range(k):
            cols[:, :, :, i, j, :] = xp[:, :, i:i + s * Ho:s, j:j + s * Wo:s].transpose(0, 2, 3, 1)
    return cols.reshape(N * Ho * Wo, k * k * C)


def col2im(dcols, x_shape, kernel_size, stride, padding):
    """dcols: (N·Ho·Wo, k·k·C), x_shape = (N, C, H, W), kernel_size k, stride s, padding p (ints)
    -> dx: (N, C, H, W)."""
    raise NotImplementedError("send every column block back to the pixels it was copied from, and add")
