"""Pooling: max, average and adaptive (global) average, with hand-derived backwards.

Shapes: ``x: (N, C, H, W)`` -> ``y: (N, C, Ho, Wo)``, with ``Ho`` as for a convolution
(:func:`minidl.functional.conv.conv2d_output_size`). Each channel is pooled on its own.
The windows are the same strided views as im2col's (no loop over pixels); we loop over
the ``kh·kw`` kernel offsets instead, each step a whole-array operation.

**Max pooling.** ``y[n, c, h, w] = max_{i, j} x̃[n, c, h·s + i, w·s + j]`` (``x̃`` padded
with −∞). The max is piecewise the identity of the winning element ``(i*, j*)``, so

    ∂y[h, w] / ∂x̃[h·s + i, w·s + j] = [(i, j) = (i*, j*)]

and the backward routes each ``dy`` to its window's winner (the first one on ties, as
PyTorch does); overlapping windows add. We store ``argmax`` over the flattened window
and, for each offset ``k = i·kw + j``, add ``dy·[argmax = k]`` to the slice of ``dx̃``
that offset reads.

**Average pooling.** ``y[h, w] = (1/D)·Σ_{i, j} x̃[h·s + i, w·s + j]``, linear, so each
offset's slice of ``dx̃`` receives ``dy / D``. ``D = kh·kw`` when the zero padding counts
(``count_include_pad=True``, PyTorch's default), else the number of real pixels in the
window.

**Adaptive average pooling** to ``(Ho, Wo)`` uses window ``h`` = rows
``⌊h·H/Ho⌋ … ⌈(h+1)·H/Ho⌉ − 1`` (and likewise columns), PyTorch's rule; windows may
differ in size, so we loop over the ``Ho·Wo`` output cells (one cell for global pooling,
the common case: ``y = mean over H, W``, ``dx = dy / (H·W)`` broadcast).
"""

from __future__ import annotations

import math

from ..backend import get_array_module
from .conv import _pair, conv2d_output_size

__all__ = [
    "max_pool2d_forward",
    "max_pool2d_backward",
    "avg_pool2d_forward",
    "avg_pool2d_backward",
    "adaptive_avg_pool2d_forward",
    "adaptive_avg_pool2d_backward",
]


def _geometry(x_shape, kernel_size, stride, padding, dilation=1):
    if len(x_shape) != 4:
        raise ValueError(f"2-D pooling expected input of shape (N, C, H, W), got {tuple(x_shape)}")
    kh, kw = _pair(kernel_size, "kernel_size")
    sh, sw = _pair(kernel_size if stride is None else stride, "stride")
    ph, pw = _pair(padding, "padding")
    dh, dw = _pair(dilation, "dilation")
    if min(kh, kw, sh, sw, dh, dw) < 1:
        raise ValueError(f"kernel_size, stride and dilation must be >= 1, got {(kh, kw)}, {(sh, sw)}, {(dh, dw)}")
    if ph > kh // 2 or pw > kw // 2 or min(ph, pw) < 0:
        raise ValueError(f"padding must be between 0 and half the kernel size {(kh, kw)}, got {(ph, pw)}")
    _, _, H, W = x_shape
    Ho, Wo = conv2d_output_size(H, W, (kh, kw), (sh, sw), (ph, pw), (dh, dw))
    if Ho < 1 or Wo < 1:
        raise ValueError(f"input of spatial size {(H, W)} is smaller than the pooling window {(kh, kw)}")
    return (kh, kw), (sh, sw), (ph, pw), (dh, dw), (Ho, Wo)


def _pad(x, ph, pw, value):
    """x: (N, C, H, W) -> the padded image as a channels-last buffer (N, H+2ph, W+2pw, C)."""
    xp = get_array_module(x)
    N, C, H, W = x.shape
    x_nhwc = x.transpose(0, 2, 3, 1)
    if not (ph or pw):
        return x_nhwc
    padded = xp.full((N, H + 2 * ph, W + 2 * pw, C), value, dtype=x.dtype)
    padded[:, ph:ph + H, pw:pw + W, :] = x_nhwc
    return padded


def _offset_slice(i, j, geometry):
    """Rows and columns of the padded image that kernel offset ``(i, j)`` reads for all windows."""
    _, (sh, sw), _, (dh, dw), (Ho, Wo) = geometry
    return (slice(None), slice(i * dh, i * dh + sh * (Ho - 1) + 1, sh),
            slice(j * dw, j * dw + sw * (Wo - 1) + 1, sw), slice(None))


# --8<-- [start:maxpool]
def max_pool2d_forward(x, kernel_size, stride=None, padding=0, dilation=1):
    """x: (N, C, H, W) -> y: (N, C, Ho, Wo) and the cache (argmax per window, geometry)."""
    xp = get_array_module(x)
    geo = _geometry(x.shape, kernel_size, stride, padding, dilation)
    (kh, kw), _, (ph, pw), _, (Ho, Wo) = geo
    N, C, H, W = x.shape
    padded = _pad(x, ph, pw, -xp.inf)
    # the kh·kw values of each window side by side: (kh·kw, N, Ho, Wo, C)
    windows = xp.stack([padded[_offset_slice(i, j, geo)] for i in range(kh) for j in range(kw)])
    argmax = windows.argmax(axis=0)  # first maximum on ties, like PyTorch
    y = windows.max(axis=0)  # (N, Ho, Wo, C)
    return y.transpose(0, 3, 1, 2), (argmax, x.shape, geo)


def max_pool2d_backward(dy, cache):
    """dy: (N, C, Ho, Wo) -> dx: (N, C, H, W); each dy goes to its window's maximum."""
    xp = get_array_module(dy)
    argmax, (N, C, H, W), geo = cache
    (kh, kw), _, (ph, pw), _, _ = geo
    dy_nhwc = dy.transpose(0, 2, 3, 1)
    dpadded = xp.zeros((N, H + 2 * ph, W + 2 * pw, C), dtype=dy.dtype)
    for i in range(kh):
        for j in range(kw):
            dpadded[_offset_slice(i, j, geo)] += dy_nhwc * (argmax == i * kw + j)
    return dpadded[:, ph:ph + H, pw:pw + W, :].transpose(0, 3, 1, 2)
# --8<-- [end:maxpool]


# --8<-- [start:avgpool]
def _avg_divisor(xp, dtype, x_shape, geo, count_include_pad):
    """D per window: kh·kw, or (count_include_pad=False) the number of real pixels in it."""
    (kh, kw), _, (ph, pw), _, _ = geo
    if count_include_pad or not (ph or pw):
        return float(kh * kw)
    N, C, H, W = x_shape
    ones = xp.zeros((1, H + 2 * ph, W + 2 * pw, 1), dtype=dtype)
    ones[:, ph:ph + H, pw:pw + W, :] = 1
    return sum(ones[_offset_slice(i, j, geo)] for i in range(kh) for j in range(kw))  # (1, Ho, Wo, 1)


def avg_pool2d_forward(x, kernel_size, stride=None, padding=0, count_include_pad=True):
    """x: (N, C, H, W) -> y: (N, C, Ho, Wo) and the cache. Zero padding."""
    xp = get_array_module(x)
    geo = _geometry(x.shape, kernel_size, stride, padding)
    (kh, kw), _, (ph, pw), _, (Ho, Wo) = geo
    padded = _pad(x, ph, pw, 0)
    total = xp.zeros((x.shape[0], Ho, Wo, x.shape[1]), dtype=x.dtype)
    for i in range(kh):
        for j in range(kw):
            total += padded[_offset_slice(i, j, geo)]
    divisor = _avg_divisor(xp, x.dtype, x.shape, geo, count_include_pad)
    y = total / divisor
    return y.transpose(0, 3, 1, 2), (divisor, x.shape, geo)


def avg_pool2d_backward(dy, cache):
    """dy: (N, C, Ho, Wo) -> dx: (N, C, H, W); every pixel of a window gets dy / D."""
    xp = get_array_module(dy)
    divisor, (N, C, H, W), geo = cache
    (kh, kw), _, (ph, pw), _, _ = geo
    share = dy.transpose(0, 2, 3, 1) / divisor
    dpadded = xp.zeros((N, H + 2 * ph, W + 2 * pw, C), dtype=dy.dtype)
    for i in range(kh):
        for j in range(kw):
            dpadded[_offset_slice(i, j, geo)] += share
    return dpadded[:, ph:ph + H, pw:pw + W, :].transpose(0, 3, 1, 2)
# --8<-- [end:avgpool]


# --8<-- [start:adaptive]
def _adaptive_bounds(size: int, out: int) -> list[tuple[int, int]]:
    return [((k * size) // out, math.ceil((k + 1) * size / out)) for k in range(out)]


def adaptive_avg_pool2d_forward(x, output_size=1):
    """x: (N, C, H, W) -> y: (N, C, Ho, Wo) with ``(Ho, Wo) = output_size``; and the cache."""
    xp = get_array_module(x)
    if x.ndim != 4:
        raise ValueError(f"adaptive_avg_pool2d expected input of shape (N, C, H, W), got {tuple(x.shape)}")
    N, C, H, W = x.shape
    Ho, Wo = _pair(output_size, "output_size")
    if min(Ho, Wo) < 1:
        raise ValueError(f"output_size must be >= 1, got {(Ho, Wo)}")
    if (Ho, Wo) == (1, 1):  # global average pooling
        y = x.mean(axis=(2, 3), keepdims=True)
    else:
        y = xp.empty((N, C, Ho, Wo), dtype=x.dtype)
        for h, (r0, r1) in enumerate(_adaptive_bounds(H, Ho)):
            for w, (c0, c1) in enumerate(_adaptive_bounds(W, Wo)):
                y[:, :, h, w] = x[:, :, r0:r1, c0:c1].mean(axis=(2, 3))
    return y, x.shape


def adaptive_avg_pool2d_backward(dy, x_shape):
    """dy: (N, C, Ho, Wo) -> dx: (N, C, H, W): each cell's dy spread evenly over its window."""
    xp = get_array_module(dy)
    N, C, H, W = x_shape
    _, _, Ho, Wo = dy.shape
    if (Ho, Wo) == (1, 1):
        return xp.broadcast_to(dy / (H * W), x_shape).copy()
    dx = xp.zeros(x_shape, dtype=dy.dtype)
    for h, (r0, r1) in enumerate(_adaptive_bounds(H, Ho)):
        for w, (c0, c1) in enumerate(_adaptive_bounds(W, Wo)):
            dx[:, :, r0:r1, c0:c1] += dy[:, :, h:h + 1, w:w + 1] / ((r1 - r0) * (c1 - c0))
    return dx
# --8<-- [end:adaptive]
