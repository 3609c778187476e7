"""Solution of ``conv2d_im2col``: with the kernel flattened in im2col's column order
(i, j, c), the convolution is the linear layer Y = cols Ŵᵀ + b over the rows of cols, so
its backward is the linear layer's, and col2im sends ∂L/∂cols back to the image."""

from minidl.functional.conv import col2im, im2col


def conv2d_im2col(x, weight, bias, dy, stride, padding):
    """x: (N, C, H, W), weight: (O, C, k, k), bias: (O,), dy: (N, O, Ho, Wo), stride, padding: ints
    -> (y (N, O, Ho, Wo), dx (N, C, H, W), dW (O, C, k, k), db (O,))."""
    N, (O, C, k, _) = x.shape[0], weight.shape
    cols, (Ho, Wo) = im2col(x, k, stride, padding)  # (M, k·k·C), M = N·Ho·Wo, columns (i, j, c)
    w_hat = weight.transpose(0, 2, 3, 1).reshape(O, k * k * C)  # the kernel in the same column order
    Y = cols @ w_hat.T + bias  # (M, O): row (n, h, w)
    y = Y.reshape(N, Ho, Wo, O).transpose(0, 3, 1, 2)  # channels back to axis 1
    dY = dy.transpose(0, 2, 3, 1).reshape(N * Ho * Wo, O)  # dy in Y's layout: channels last
    dW = (dY.T @ cols).reshape(O, k, k, C).transpose(0, 3, 1, 2)  # the linear layer's dW, unflattened
    db = dY.sum(axis=0)  # over the batch AND every output position
    dcols = dY @ w_hat  # (M, k·k·C)
    # the library's col2im takes the column blocks offset by offset: (k·k, M, C)
    dx = col2im(dcols.reshape(N * Ho * Wo, k * k, C).transpose(1, 0, 2), x.shape, k, stride, padding)
    return y, dx, dW, db
