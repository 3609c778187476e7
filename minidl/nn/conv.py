"""``Conv2d``: 2-D convolution (maths and memory layout in :mod:`minidl.functional.conv`)."""

from __future__ import annotations

import math

from ..functional.conv import _pair, conv2d_backward, conv2d_forward
from ..module import Module, Parameter
from . import init

__all__ = ["Conv2d"]


class Conv2d(Module):
    """``Conv2d(in_channels, out_channels, kernel_size, stride=1, padding=0, dilation=1,
    groups=1, bias=True)``, as ``torch.nn.Conv2d`` (zero padding).

    Shapes: x (N, C_in, H, W) -> y (N, C_out, Ho, Wo),
    ``Ho = ⌊(H + 2·padding − dilation·(kh − 1) − 1) / stride⌋ + 1`` (likewise Wo).

    Parameters: ``weight`` (C_out, C_in/groups, kh, kw) and ``bias`` (C_out,), both
    U(−1/√fan_in, 1/√fan_in) at start with ``fan_in = C_in/groups·kh·kw`` (PyTorch's
    default). Forward: ``y = x ⋆ W + b`` as im2col + one GEMM; backward: two GEMMs +
    col2im. The output is channels-last in memory (see the functional module).
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
        kh, kw = self.kernel_size
        fan_in = in_channels // groups * kh * kw
        bound = 1.0 / math.sqrt(fan_in)
        self.weight = Parameter(init.uniform((out_channels, in_channels // groups, kh, kw), bound))
        self.bias = Parameter(init.uniform((out_channels,), bound)) if bias else None

    def forward(self, x):
        if x.ndim != 4 or x.shape[1] != self.in_channels:
            raise ValueError(
                f"Conv2d expected input of shape (N, {self.in_channels}, H, W), got {tuple(x.shape)}"
            )
        y, cache = conv2d_forward(
            x, self.weight.data, None if self.bias is None else self.bias.data,
            self.stride, self.padding, self.dilation, self.groups,
        )
        self.save_for_backward(cache)
        return y

    def backward(self, dy):
        cache = self.saved()
        dx, dW, db = conv2d_backward(
            dy, cache, self.weight.data, self.stride, self.padding, self.dilation, self.groups,
            need_bias=self.bias is not None,
        )
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
