"""Exercise: a 2-D convolution as im2col + one matrix product, forward and backward
(chapter: convolution-resnet.md).

Forward, PyTorch's ``conv2d`` (cross-correlation; groups 1, dilation 1): x: (N, C, H, W),
weight: (O, C, k, k), bias: (O,), stride s, padding p,

    y[n, o, h, w] = b[o] + Σ_{c,i,j} W[o, c, i, j] · x̃[n, c, h·s + i, w·s + j]     y: (N, O, Ho, Wo)

with x̃ the zero-padded input. ``im2col(x, k, stride, padding)`` (imported below; its
layout is explained in the ``col2im`` exercise) returns ``cols, (Ho, Wo)``, cols:
(M, k·k·C) with M = N·Ho·Wo, row (n, h, w), column (i, j, c).
Compute y with ONE matrix product, then, given dy = ∂L/∂y: (N, O, Ho, Wo), return

    y: (N, O, Ho, Wo),  dx: (N, C, H, W),  dW: (O, C, k, k),  db: (O,)

Hint: flatten the kernel in cols' column order, Ŵ: (O, k·k·C); then Y = cols Ŵᵀ + b is a
linear layer whose rows are (n, h, w). Mind where the channel axis is. For dx you need
col2im: write your own (the ``col2im`` exercise) or use the library's,
``col2im(dcols.reshape(M, k * k, C).transpose(1, 0, 2), x.shape, k, stride, padding)``
(it takes the column blocks offset by offset).

Check it:  python -m minidl.exercises check conv2d_im2col
"""

from minidl.functional.conv import col2im, im2col  # noqa: F401  (yours to use)


def conv2d_im2col(x, weight, bias, dy, stride, padding):
    """x: (N, C, H, W), weight: (O, C, k, k), bias: (O,), dy: (N, O, Ho, Wo), stride, padding: ints
    -> (y (N, O, Ho, Wo), dx (N, C, H, W), dW (O, C, k, k), db (O,))."""
    raise NotImplementedError("y = im2col(x) Ŵᵀ + b, then the linear layer's backward and col2im")
