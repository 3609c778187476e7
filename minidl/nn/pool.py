"""Pooling layers (maths in :mod:`minidl.functional.pool`). No parameters."""

from __future__ import annotations

from ..checks import check_float, check_upstream
from ..errors import RangeError, ShapeError
from ..functional.geometry import pair
from ..functional.pool import (
    adaptive_avg_pool2d_backward,
    adaptive_avg_pool2d_forward,
    avg_pool2d_backward,
    avg_pool2d_forward,
    max_pool2d_backward,
    max_pool2d_forward,
)
from ..module import Module

__all__ = ["MaxPool2d", "AvgPool2d", "AdaptiveAvgPool2d"]


def _no_ceil(ceil_mode):
    if ceil_mode:
        raise NotImplementedError("ceil_mode=True is not supported; pad the input instead")


def _check_input(x, who):
    check_float(x, "input", who)
    if x.ndim != 4:
        raise ShapeError(f"{who}: input must have shape (N, C, H, W), got {tuple(x.shape)}")
    # an image with no pixel: a max over padding alone is −inf, an average over no pixel 0/0
    # (found by tests/fuzzing.py); PyTorch refuses it too. An empty batch (N = 0) is fine.
    if 0 in x.shape[2:]:
        raise ShapeError(f"{who}: input must have H, W >= 1, got {tuple(x.shape)}")


def _window(who, kernel_size, stride, padding, dilation=1):
    """The settings as pairs (stride None: the kernel size); RangeError naming a bad one."""
    values = {"kernel_size": pair(kernel_size, "kernel_size", who),
              "stride": pair(kernel_size if stride is None else stride, "stride", who),
              "padding": pair(padding, "padding", who), "dilation": pair(dilation, "dilation", who)}
    for name, value in values.items():
        if min(value) < (0 if name == "padding" else 1):
            raise RangeError(f"{who}: {name} must be >= {0 if name == 'padding' else 1}, got {value}")
    return values["kernel_size"], values["stride"], values["padding"], values["dilation"]


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
        _window("MaxPool2d", kernel_size, stride, padding, dilation)
        self.kernel_size, self.stride, self.padding, self.dilation = kernel_size, stride, padding, dilation

    def forward(self, x):
        _check_input(x, "MaxPool2d")
        y, cache = max_pool2d_forward(x, self.kernel_size, stride=self.stride, padding=self.padding,
                                      dilation=self.dilation)
        self.save_for_backward(cache)
        return y

    def backward(self, dy):
        cache = self.saved()
        check_upstream(dy, cache.output_shape, "dy", "MaxPool2d")
        return max_pool2d_backward(dy, cache)["x"]

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
        _window("AvgPool2d", kernel_size, stride, padding)
        self.kernel_size, self.stride, self.padding = kernel_size, stride, padding
        self.count_include_pad = bool(count_include_pad)

    def forward(self, x):
        _check_input(x, "AvgPool2d")
        y, cache = avg_pool2d_forward(x, self.kernel_size, stride=self.stride, padding=self.padding,
                                      count_include_pad=self.count_include_pad)
        self.save_for_backward(cache)
        return y

    def backward(self, dy):
        cache = self.saved()
        check_upstream(dy, cache.output_shape, "dy", "AvgPool2d")
        return avg_pool2d_backward(dy, cache)["x"]

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
        self.output_size = pair(output_size, "output_size", "AdaptiveAvgPool2d")
        if min(self.output_size) < 1:
            raise RangeError(f"AdaptiveAvgPool2d: output_size must be >= 1, got {self.output_size}")

    def forward(self, x):
        _check_input(x, "AdaptiveAvgPool2d")
        y, cache = adaptive_avg_pool2d_forward(x, self.output_size)
        self.save_for_backward(cache)
        return y

    def backward(self, dy):
        cache = self.saved()
        check_upstream(dy, cache.output_shape, "dy", "AdaptiveAvgPool2d")
        return adaptive_avg_pool2d_backward(dy, cache)["x"]

    def extra_repr(self) -> str:
        return f"output_size={self.output_size}"
