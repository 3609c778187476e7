"""Solution of ``col2im``: im2col copied pixel x̃[n, c, h·s + i, w·s + j] into
cols[(n, h, w), (i, j, c)]. A copy's adjoint is a sum: for each kernel offset (i, j) the
columns (i, j, :) go back to the pixels that offset read, one strided slice of the padded
image, ADDED, since windows overlap. Cropping the padding then gives ∂L/∂x."""

import numpy as np


def col2im(dcols, x_shape, kernel_size, stride, padding):
    """dcols: (N·Ho·Wo, k·k·C), x_shape = (N, C, H, W), kernel_size k, stride s, padding p (ints)
    -> dx: (N, C, H, W)."""
    N, C, H, W = x_shape
    k, s, p = kernel_size, stride, padding
    Ho, Wo = (H + 2 * p - k) // s + 1, (W + 2 * p - k) // s + 1
    blocks = dcols.reshape(N, Ho, Wo, k, k, C)  # row (n, h, w), column (i, j, c)
    dpad = np.zeros((N, C, H + 2 * p, W + 2 * p), dtype=dcols.dtype)
    for i in range(k):
        for j in range(k):
            # offset (i, j) of window (h, w) read pixel (h·s + i, w·s + j) of the padded image
            dpad[:, :, i:i + s * Ho:s, j:j + s * Wo:s] += blocks[:, :, :, i, j, :].transpose(0, 3, 1, 2)
    return dpad[:, :, p:p + H, p:p + W]  # the padding's gradient is dropped: it was no input
