"""Pooling: max, average and adaptive (global) average, with hand-derived backwards.

Shapes: ``x: (N, C, H, W)`` -> ``y: (N, C, Ho, Wo)``, with ``Ho`` as for a convolution
(:func:`minidl.functional.geometry.conv_output_size`). Each channel is pooled on its own.
The windows are the same strided slices as im2col's (no loop over pixels); we loop over
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

Every pair follows the functional contract: ``y, cache = *_forward(x, ...)`` and
``{"x": dx} = *_backward(dy, cache)``.
"""

from __future__ import annotations

import math
from typing import NamedTuple

from ..backend import get_array_module
from ..checks import check_float
from ..errors import RangeError, ShapeError
from .geometry import ConvGeometry, conv_geometry, pair

__all__ = [
    "MaxPoolCache", "max_pool2d_forward", "max_pool2d_backward",
    "AvgPoolCache", "avg_pool2d_forward", "avg_pool2d_backward",
    "AdaptiveAvgPoolCache", "adaptive_avg_pool2d_forward", "adaptive_avg_pool2d_backward",
]


def _check_input(x, who):
    check_float(x, "x", who)
    if x.ndim != 4:
        raise ShapeError(f"{who}: x must have shape (N, C, H, W), got {tuple(x.shape)}")


def _geometry(x_shape, kernel_size, stride, padding, dilation, who) -> ConvGeometry:
    geo = conv_geometry(x_shape, kernel_size, kernel_size if stride is None else stride, padding, dilation, who)
    span = tuple(d * (k - 1) + 1 for d, k in zip(geo.dilation, geo.kernel))  # the dilated window
    if any(2 * p > k for p, k in zip(geo.padding, span)):
        raise RangeError(f"{who}: padding must be at most half the (dilated) window {span}, got {geo.padding}")
    return geo


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


def _offset_slice(i, j, geo: ConvGeometry):
    """Rows and columns of the padded image that kernel offset ``(i, j)`` reads for all windows."""
    (sh, sw), (dh, dw), (Ho, Wo) = geo.stride, geo.dilation, geo.out
    return (slice(None), slice(i * dh, i * dh + sh * (Ho - 1) + 1, sh),
            slice(j * dw, j * dw + sw * (Wo - 1) + 1, sw), slice(None))


class MaxPoolCache(NamedTuple):
    """The winner of each window (index ``i·kw + j``, channels-last), the input shape, the geometry."""

    argmax: object
    x_shape: tuple
    geometry: ConvGeometry

    @property
    def output_shape(self) -> tuple:
        """``(N, C, Ho, Wo)``: the shape the upstream gradient must have."""
        return tuple(self.x_shape[:2]) + tuple(self.geometry.out)


# --8<-- [start:maxpool]
def max_pool2d_forward(x, kernel_size, *, stride=None, padding=0, dilation=1):
    """x: (N, C, H, W) -> y: (N, C, Ho, Wo) and a :class:`MaxPoolCache`."""
    _check_input(x, "max_pool2d")
    xp = get_array_module(x)
    geo = _geometry(x.shape, kernel_size, stride, padding, dilation, "max_pool2d")
    (kh, kw), (ph, pw) = geo.kernel, geo.padding
    padded = _pad(x, ph, pw, -xp.inf)
    # the kh·kw values of each window side by side: (kh·kw, N, Ho, Wo, C)
    windows = xp.stack([padded[_offset_slice(i, j, geo)] for i in range(kh) for j in range(kw)])
    argmax = windows.argmax(axis=0)  # first maximum on ties, like PyTorch
    y = windows.max(axis=0)  # (N, Ho, Wo, C)
    return y.transpose(0, 3, 1, 2), MaxPoolCache(argmax, tuple(x.shape), geo)


def max_pool2d_backward(dy, cache: MaxPoolCache) -> dict:
    """dy: (N, C, Ho, Wo) -> ``{"x": dx (N, C, H, W)}``; each dy goes to its window's maximum."""
    xp = get_array_module(dy)
    argmax, (N, C, H, W), geo = cache
    (kh, kw), (ph, pw) = geo.kernel, geo.padding
    dy_nhwc = dy.transpose(0, 2, 3, 1)
    dpadded = xp.zeros((N, H + 2 * ph, W + 2 * pw, C), dtype=dy.dtype)
    for i in range(kh):
        for j in range(kw):
            dpadded[_offset_slice(i, j, geo)] += dy_nhwc * (argmax == i * kw + j)
    return {"x": dpadded[:, ph:ph + H, pw:pw + W, :].transpose(0, 3, 1, 2)}
# --8<-- [end:maxpool]


class AvgPoolCache(NamedTuple):
    """The divisor D (a number, or (1, Ho, Wo, 1) without padding counted), input shape, geometry."""

    divisor: object
    x_shape: tuple
    geometry: ConvGeometry

    @property
    def output_shape(self) -> tuple:
        """``(N, C, Ho, Wo)``: the shape the upstream gradient must have."""
        return tuple(self.x_shape[:2]) + tuple(self.geometry.out)


# --8<-- [start:avgpool]
def _avg_divisor(xp, dtype, x_shape, geo, count_include_pad):
    """D per window: kh·kw, or (count_include_pad=False) the number of real pixels in it."""
    (kh, kw), (ph, pw) = geo.kernel, geo.padding
    if count_include_pad or not (ph or pw):
        return float(kh * kw)
    N, C, H, W = x_shape
    ones = xp.zeros((1, H + 2 * ph, W + 2 * pw, 1), dtype=dtype)
    ones[:, ph:ph + H, pw:pw + W, :] = 1
    return sum(ones[_offset_slice(i, j, geo)] for i in range(kh) for j in range(kw))  # (1, Ho, Wo, 1)


def avg_pool2d_forward(x, kernel_size, *, stride=None, padding=0, count_include_pad=True):
    """x: (N, C, H, W) -> y: (N, C, Ho, Wo) and an :class:`AvgPoolCache`. Zero padding."""
    _check_input(x, "avg_pool2d")
    xp = get_array_module(x)
    geo = _geometry(x.shape, kernel_size, stride, padding, 1, "avg_pool2d")
    (kh, kw), (ph, pw), (Ho, Wo) = geo.kernel, geo.padding, geo.out
    padded = _pad(x, ph, pw, 0)
    total = xp.zeros((x.shape[0], Ho, Wo, x.shape[1]), dtype=x.dtype)
    for i in range(kh):
        for j in range(kw):
            total += padded[_offset_slice(i, j, geo)]
    divisor = _avg_divisor(xp, x.dtype, x.shape, geo, count_include_pad)
    y = total / divisor
    return y.transpose(0, 3, 1, 2), AvgPoolCache(divisor, tuple(x.shape), geo)


def avg_pool2d_backward(dy, cache: AvgPoolCache) -> dict:
    """dy: (N, C, Ho, Wo) -> ``{"x": dx (N, C, H, W)}``; every pixel of a window gets dy / D."""
    xp = get_array_module(dy)
    divisor, (N, C, H, W), geo = cache
    (kh, kw), (ph, pw) = geo.kernel, geo.padding
    share = dy.transpose(0, 2, 3, 1) / divisor
    dpadded = xp.zeros((N, H + 2 * ph, W + 2 * pw, C), dtype=dy.dtype)
    for i in range(kh):
        for j in range(kw):
            dpadded[_offset_slice(i, j, geo)] += share
    return {"x": dpadded[:, ph:ph + H, pw:pw + W, :].transpose(0, 3, 1, 2)}
# --8<-- [end:avgpool]


class AdaptiveAvgPoolCache(NamedTuple):
    """The input shape and the output size ``(Ho, Wo)``."""

    x_shape: tuple
    output_size: tuple

    @property
    def output_shape(self) -> tuple:
        """``(N, C, Ho, Wo)``: the shape the upstream gradient must have."""
        return tuple(self.x_shape[:2]) + tuple(self.output_size)


# --8<-- [start:adaptive]
def _adaptive_bounds(size: int, out: int) -> list[tuple[int, int]]:
    return [((k * size) // out, math.ceil((k + 1) * size / out)) for k in range(out)]


def adaptive_avg_pool2d_forward(x, output_size=1):
    """x: (N, C, H, W) -> y: (N, C, Ho, Wo) with ``(Ho, Wo) = output_size``, and the cache."""
    _check_input(x, "adaptive_avg_pool2d")
    xp = get_array_module(x)
    N, C, H, W = x.shape
    Ho, Wo = pair(output_size, "output_size", "adaptive_avg_pool2d")
    if min(Ho, Wo) < 1:
        raise RangeError(f"adaptive_avg_pool2d: output_size must be >= 1, got {(Ho, Wo)}")
    if (Ho, Wo) == (1, 1):  # global average pooling
        y = x.mean(axis=(2, 3), keepdims=True)
    else:
        y = xp.empty((N, C, Ho, Wo), dtype=x.dtype)
        for h, (r0, r1) in enumerate(_adaptive_bounds(H, Ho)):
            for w, (c0, c1) in enumerate(_adaptive_bounds(W, Wo)):
                y[:, :, h, w] = x[:, :, r0:r1, c0:c1].mean(axis=(2, 3))
    return y, AdaptiveAvgPoolCache(tuple(x.shape), (Ho, Wo))


def adaptive_avg_pool2d_backward(dy, cache: AdaptiveAvgPoolCache) -> dict:
    """dy: (N, C, Ho, Wo) -> ``{"x": dx (N, C, H, W)}``: each cell's dy spread evenly over its window."""
    xp = get_array_module(dy)
    x_shape, (Ho, Wo) = cache
    N, C, H, W = x_shape
    if (Ho, Wo) == (1, 1):
        return {"x": xp.broadcast_to(dy / (H * W), x_shape).copy()}
    dx = xp.zeros(x_shape, dtype=dy.dtype)
    for h, (r0, r1) in enumerate(_adaptive_bounds(H, Ho)):
        for w, (c0, c1) in enumerate(_adaptive_bounds(W, Wo)):
            dx[:, :, r0:r1, c0:c1] += dy[:, :, h:h + 1, w:w + 1] / ((r1 - r0) * (c1 - c0))
    return {"x": dx}
# --8<-- [end:adaptive]
