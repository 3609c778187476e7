"""``Conv2d``: 2-D convolution (maths and memory layout in :mod:`minidl.functional.conv`)."""

from __future__ import annotations

import math
import numbers

from ..checks import check_dtype, check_upstream, require_array
from ..errors import RangeError, ShapeError
from ..functional.conv_fast import conv2d_fast_backward, conv2d_fast_forward
from ..functional.geometry import pair
from ..functional.workspace import Workspace
from ..module import Module, Parameter, is_grad_enabled
from . import init

__all__ = ["Conv2d", "share_workspace"]


class Conv2d(Module):
    """``Conv2d(in_channels, out_channels, kernel_size, stride=1, padding=0, dilation=1,
    groups=1, bias=True)``, as ``torch.nn.Conv2d`` (zero padding).

    Shapes: x (N, C_in, H, W) -> y (N, C_out, Ho, Wo),
    ``Ho = ⌊(H + 2·padding − dilation·(kh − 1) − 1) / stride⌋ + 1`` (likewise Wo).

    Parameters: ``weight`` (C_out, C_in/groups, kh, kw) and ``bias`` (C_out,), both
    U(−1/√fan_in, 1/√fan_in) at start with ``fan_in = C_in/groups·kh·kw`` (PyTorch's
    default). Forward: ``y = x ⋆ W + b`` as im2col + GEMM, a chunk of images at a time
    (with a multithreaded BLAS, one share of the batch per thread);
    backward: for stride 1 one im2col of dy per chunk and two GEMMs (the input gradient is a
    convolution of dy with the flipped kernel), else im2col, GEMMs and col2im
    (:mod:`minidl.functional.conv_fast`; the readable pair is :mod:`minidl.functional.conv`).
    The output is channels-last in memory.

    ``workspace``: the :class:`~minidl.functional.workspace.Workspace` that holds the
    im2col patches (one chunk's per thread) while a call runs. Each Conv2d has its own; a network of many
    convolutions gives them one with :func:`share_workspace` (the CIFAR ResNets do), since
    the layers run one after the other and each needs it only during its own call: the
    scratch memory is then the largest layer's, not the sum over layers. Inference calls
    (``no_grad``) use the buffers when they fit and never grow them.
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size, stride=1, padding=0,
                 dilation=1, groups: int = 1, bias: bool = True, padding_mode: str = "zeros"):
        super().__init__()
        if padding_mode != "zeros":
            raise RangeError(f"Conv2d: padding_mode must be 'zeros' (the only one supported), got {padding_mode!r}")
        if isinstance(padding, str):
            if padding != "valid":
                raise RangeError(f"Conv2d: padding must be an int, a pair or 'valid', got {padding!r}")
            padding = 0
        self.in_channels, self.out_channels, self.groups = _channels(in_channels, out_channels, groups)
        self.kernel_size = pair(kernel_size, "kernel_size", "Conv2d")
        self.stride = pair(stride, "stride", "Conv2d")
        self.padding = pair(padding, "padding", "Conv2d")
        self.dilation = pair(dilation, "dilation", "Conv2d")
        for name, low in [("kernel_size", 1), ("stride", 1), ("padding", 0), ("dilation", 1)]:
            if min(getattr(self, name)) < low:
                raise RangeError(f"Conv2d: {name} must be >= {low}, got {getattr(self, name)}")
        kh, kw = self.kernel_size
        bound = 1.0 / math.sqrt(self.in_channels // self.groups * kh * kw)
        self.weight = Parameter(init.uniform((self.out_channels, self.in_channels // self.groups, kh, kw), bound))
        self.bias = Parameter(init.uniform((self.out_channels,), bound)) if bias else None
        self.workspace = Workspace()

    def forward(self, x):
        require_array(x, "input", "Conv2d")
        if x.ndim != 4 or x.shape[1] != self.in_channels:
            raise ShapeError(f"Conv2d: input must have shape (N, {self.in_channels}, H, W), got {tuple(x.shape)}")
        check_dtype(x, self.weight.data.dtype, "input", "Conv2d")
        workspace = self.workspace if is_grad_enabled() else self.workspace.fixed()
        y, cache = conv2d_fast_forward(
            x, self.weight.data, None if self.bias is None else self.bias.data, stride=self.stride,
            padding=self.padding, dilation=self.dilation, groups=self.groups, workspace=workspace)
        self.save_for_backward(cache)
        return y

    def backward(self, dy):
        cache = self.saved()
        check_upstream(dy, cache.output_shape, "dy", "Conv2d")
        grads = conv2d_fast_backward(dy, cache)
        self.accumulate_grads(grads)
        return grads["x"]

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


def _channels(in_channels, out_channels, groups) -> tuple[int, int, int]:
    """Check the channel counts and groups (RangeError naming the bad one)."""
    values = {"in_channels": in_channels, "out_channels": out_channels, "groups": groups}
    for name, v in values.items():
        if not isinstance(v, numbers.Integral) or v < 1:
            raise RangeError(f"Conv2d: {name} must be an int >= 1, got {v!r}")
    in_channels, out_channels, groups = int(in_channels), int(out_channels), int(groups)
    if in_channels % groups or out_channels % groups:
        raise RangeError(f"Conv2d: in_channels ({in_channels}) and out_channels ({out_channels}) must be "
                         f"divisible by groups ({groups})")
    return in_channels, out_channels, groups


def share_workspace(module: Module, workspace: Workspace | None = None) -> Workspace:
    """Give every ``Conv2d`` inside ``module`` the same workspace (a new one by default) and
    return it. Safe because the layers of one model run one call at a time."""
    workspace = Workspace() if workspace is None else workspace
    for m in module.modules():
        if isinstance(m, Conv2d):
            m.workspace = workspace
    return workspace
