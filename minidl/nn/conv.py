"""``Conv2d``: 2-D convolution (maths and memory layout in :mod:`minidl.functional.conv`)."""

from __future__ import annotations

import math

from .. import backend
from ..functional.conv import _pair, conv2d_backward, conv2d_forward, conv2d_output_size
from ..module import Module, Parameter, is_grad_enabled
from . import init

__all__ = ["Conv2d"]

# One scratch array per (shape, dtype, device) for ∂L/∂cols, shared by all Conv2d: it lives
# only inside one backward call, so layers of equal shape can take turns with it.
_SCRATCH: dict = {}


def _fits(buf, shape, like) -> bool:
    return buf.shape == shape and buf.dtype == like.dtype and backend.device_of(buf) == backend.device_of(like)


def _scratch(shape, like):
    key = (shape, str(like.dtype), backend.device_of(like))
    if key not in _SCRATCH:
        _SCRATCH[key] = backend.get_array_module(like).empty(shape, dtype=like.dtype)
    return _SCRATCH[key]


class Conv2d(Module):
    """``Conv2d(in_channels, out_channels, kernel_size, stride=1, padding=0, dilation=1,
    groups=1, bias=True)``, as ``torch.nn.Conv2d`` (zero padding).

    Shapes: x (N, C_in, H, W) -> y (N, C_out, Ho, Wo),
    ``Ho = ⌊(H + 2·padding − dilation·(kh − 1) − 1) / stride⌋ + 1`` (likewise Wo).

    Parameters: ``weight`` (C_out, C_in/groups, kh, kw) and ``bias`` (C_out,), both
    U(−1/√fan_in, 1/√fan_in) at start with ``fan_in = C_in/groups·kh·kw`` (PyTorch's
    default). Forward: ``y = x ⋆ W + b`` as im2col + one GEMM; backward: two GEMMs +
    col2im. The output is channels-last in memory (see the functional module).

    Buffer recycling: the im2col matrix (kh·kw times the input's size) and the scratch
    for its gradient are the largest arrays of a training step. Fresh memory from the
    operating system costs a page fault per page on first touch (here that doubled the
    cost of im2col), so each Conv2d keeps the im2col buffer its backward is done with and
    refills it in the next step, and all Conv2d share one scratch per shape for ∂L/∂cols,
    as PyTorch's caching allocator would. ``clear_buffers()`` frees a layer's buffer.
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size, stride=1, padding=0,
                 dilation=1, groups: int = 1, bias: bool = True, padding_mode: str = "zeros"):
        super().__init__()
        if padding_mode != "zeros":
            raise ValueError(f"Conv2d supports padding_mode='zeros' only, got {padding_mode!r}")
        if isinstance(padding, str):
            if padding != "valid":
                raise ValueError(f"Conv2d padding must be an int, a pair or 'valid', got {padding!r}")
            padding = 0
        if groups < 1 or in_channels % groups or out_channels % groups:
            raise ValueError(
                f"in_channels ({in_channels}) and out_channels ({out_channels}) must be divisible by "
                f"groups ({groups})"
            )
        self.in_channels = int(in_channels)
        self.out_channels = int(out_channels)
        self.kernel_size = _pair(kernel_size, "kernel_size")
        self.stride = _pair(stride, "stride")
        self.padding = _pair(padding, "padding")
        self.dilation = _pair(dilation, "dilation")
        self.groups = int(groups)
        if min(self.kernel_size + self.stride + self.dilation) < 1 or min(self.padding) < 0:
            raise ValueError(
                f"kernel_size, stride and dilation must be >= 1 and padding >= 0, got kernel_size="
                f"{self.kernel_size}, stride={self.stride}, padding={self.padding}, dilation={self.dilation}"
            )
        kh, kw = self.kernel_size
        fan_in = in_channels // groups * kh * kw
        bound = 1.0 / math.sqrt(fan_in)
        self.weight = Parameter(init.uniform((out_channels, in_channels // groups, kh, kw), bound))
        self.bias = Parameter(init.uniform((out_channels,), bound)) if bias else None
        self.clear_buffers()

    # ------------------------------------------------------------------ recycled buffers
    def clear_buffers(self) -> None:
        """Forget this layer's recycled im2col buffer and the shared scratch buffers."""
        self._spare = None  # the im2col matrix of a call whose backward is done
        _SCRATCH.clear()

    def _copies_patches(self) -> bool:
        # a 1x1, stride-1, unpadded convolution's im2col is a view of x: nothing to recycle
        return (self.kernel_size, self.stride, self.padding) != ((1, 1), (1, 1), (0, 0)) and self.groups == 1

    def _take(self, shape, like):
        """The spare im2col buffer if it has this shape, dtype and device, else None."""
        b = self._spare
        if b is not None and _fits(b, shape, like):
            self._spare = None
            return b
        return None

    # ------------------------------------------------------------------ forward / backward
    def forward(self, x):
        if x.ndim != 4 or x.shape[1] != self.in_channels:
            raise ValueError(
                f"Conv2d expected input of shape (N, {self.in_channels}, H, W), got {tuple(x.shape)}"
            )
        cols_out = None
        if self._copies_patches():
            Ho, Wo = conv2d_output_size(x.shape[2], x.shape[3], self.kernel_size, self.stride, self.padding,
                                        self.dilation)
            kh, kw = self.kernel_size
            shape = (x.shape[0] * max(Ho, 0) * max(Wo, 0), kh * kw * self.in_channels)
            cols_out = recycled = self._take(shape, x)
            if cols_out is None:
                cols_out = backend.get_array_module(x).empty(shape, dtype=x.dtype)
        y, cache = conv2d_forward(
            x, self.weight.data, None if self.bias is None else self.bias.data,
            self.stride, self.padding, self.dilation, self.groups, cols_out=cols_out,
        )
        if is_grad_enabled():
            self.save_for_backward(cache)
        elif cols_out is not None and recycled is not None:
            # no backward will come: the training buffer is free again. A buffer made for an
            # inference batch of another size is dropped, not kept (eval batches are often big)
            self._spare = recycled
        return y

    def backward(self, dy):
        cache = self.saved()
        (cols, *_), _ = cache
        dcols_out = None
        if self._copies_patches():
            kh, kw = self.kernel_size
            dcols_out = _scratch((kh * kw, cols.shape[0], self.in_channels), dy)
        dx, dW, db = conv2d_backward(
            dy, cache, self.weight.data, self.stride, self.padding, self.dilation, self.groups,
            need_bias=self.bias is not None, dcols_out=dcols_out,
        )
        if self._copies_patches():
            self._spare = cols  # this call is done with it: the next forward refills it
        self.weight.grad += dW
        if self.bias is not None:
            self.bias.grad += db
        return dx

    def extra_repr(self) -> str:
        s = f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, stride={self.stride}"
        if self.padding != (0, 0):
            s += f", padding={self.padding}"
        if self.dilation != (1, 1):
            s += f", dilation={self.dilation}"
        if self.groups != 1:
            s += f", groups={self.groups}"
        if self.bias is None:
            s += ", bias=False"
        return s
