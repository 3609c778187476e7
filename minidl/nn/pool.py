"""Pooling layers (maths in :mod:`minidl.functional.pool`). No parameters."""

from __future__ import annotations

from ..functional import pool as F
from ..functional.conv import _pair
from ..module import Module

__all__ = ["MaxPool2d", "AvgPool2d", "AdaptiveAvgPool2d"]


def _no_ceil(ceil_mode):
    if ceil_mode:
        raise NotImplementedError("ceil_mode=True is not supported; pad the input instead")


class MaxPool2d(Module):
    """``MaxPool2d(kernel_size, stride=None, padding=0, dilation=1)``, as PyTorch's.

    Shapes: x (N, C, H, W) -> y (N, C, Ho, Wo). ``y = max`` over each window (padding
    counts as −∞); backward sends ``dy`` to the window's (first) maximum.
    """

    def __init__(self, kernel_size, stride=None, padding=0, dilation=1, return_indices=False,
                 ceil_mode=False):
        super().__init__()
        if return_indices:
            raise NotImplementedError("return_indices=True is not supported")
        _no_ceil(ceil_mode)
        self.kernel_size, self.stride, self.padding, self.dilation = kernel_size, stride, padding, dilation

    def forward(self, x):
        y, cache = F.max_pool2d_forward(x, self.kernel_size, self.stride, self.padding, self.dilation)
        self.save_for_backward(cache)
        return y

    def backward(self, dy):
        return F.max_pool2d_backward(dy, self.saved())

    def extra_repr(self) -> str:
        stride = self.kernel_size if self.stride is None else self.stride
        return f"kernel_size={self.kernel_size}, stride={stride}, padding={self.padding}, dilation={self.dilation}"


class AvgPool2d(Module):
    """``AvgPool2d(kernel_size, stride=None, padding=0, count_include_pad=True)``, as PyTorch's.

    Shapes: x (N, C, H, W) -> y (N, C, Ho, Wo). ``y = (1/D)·Σ`` over each window;
    backward gives each pixel of a window ``dy / D``.
    """

    def __init__(self, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True,
                 divisor_override=None):
        super().__init__()
        _no_ceil(ceil_mode)
        if divisor_override is not None:
            raise NotImplementedError("divisor_override is not supported")
        self.kernel_size, self.stride, self.padding = kernel_size, stride, padding
        self.count_include_pad = bool(count_include_pad)

    def forward(self, x):
        y, cache = F.avg_pool2d_forward(x, self.kernel_size, self.stride, self.padding, self.count_include_pad)
        self.save_for_backward(cache)
        return y

    def backward(self, dy):
        return F.avg_pool2d_backward(dy, self.saved())

    def extra_repr(self) -> str:
        stride = self.kernel_size if self.stride is None else self.stride
        return f"kernel_size={self.kernel_size}, stride={stride}, padding={self.padding}"


class AdaptiveAvgPool2d(Module):
    """``AdaptiveAvgPool2d(output_size)``: x (N, C, H, W) -> y (N, C, Ho, Wo).

    ``AdaptiveAvgPool2d(1)`` is global average pooling, ``y[n, c] = mean_{h, w} x[n, c, h, w]``,
    whose backward spreads ``dy / (H·W)`` over the image.
    """

    def __init__(self, output_size):
        super().__init__()
        self.output_size = _pair(output_size, "output_size")

    def forward(self, x):
        y, x_shape = F.adaptive_avg_pool2d_forward(x, self.output_size)
        self.save_for_backward(x_shape)
        return y

    def backward(self, dy):
        return F.adaptive_avg_pool2d_backward(dy, self.saved())

    def extra_repr(self) -> str:
        return f"output_size={self.output_size}"
