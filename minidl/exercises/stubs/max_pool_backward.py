"""Exercise: the backward pass of 2-D max pooling (chapter: convolution-resnet.md).

Forward (given below), no padding: a kh × kw window moved by ``stride`` over each channel,

    y[n, c, h, w] = max over 0 ≤ i < kh, 0 ≤ j < kw of x[n, c, h·s + i, w·s + j]

    x: (N, C, H, W)  ->  y: (N, C, Ho, Wo),  Ho = (H − kh) // s + 1,  Wo = (W − kw) // s + 1

Given dy = ∂L/∂y: (N, C, Ho, Wo), x, kernel_size = (kh, kw) and stride = s, return

    dx = ∂L/∂x: (N, C, H, W)

The inputs are random reals, so each window has one largest value (no ties).

Hint: inside one window the max is the identity of the winning pixel and ignores the rest.
With a stride smaller than the window, one pixel can win several windows.

Check it:  python -m minidl.exercises check max_pool_backward
"""

import numpy as np


def max_pool_forward(x, kernel_size, stride):
    """Given. x: (N, C, H, W), kernel_size (kh, kw), stride s -> y: (N, C, Ho, Wo). A loop
    over the output cells, written to be read (the library loops over the kh·kw offsets)."""
    kh, kw = kernel_size
    N, C, H, W = x.shape
    Ho, Wo = (H - kh) // stride + 1, (W - kw) // stride + 1
    y = np.empty((N, C, Ho, Wo))
    for h in range(Ho):
        for w in range(Wo):
            y[:, :, h, w] = x[:, :, h * stride:h * stride + kh, w * stride:w * stride + kw].max(axis=(2, 3))
    return y


def max_pool_backward(dy, x, kernel_size, stride):
    """dy: (N, C, Ho, Wo); x: (N, C, H, W); kernel_size (kh, kw); stride s -> dx: (N, C, H, W)."""
    raise NotImplementedError("each dy to the maximum of its window; a pixel in several windows")
