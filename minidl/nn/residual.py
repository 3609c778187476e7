"""``BasicBlock``: the two-convolution residual block of ResNet-18/34 (He et al., 2016)."""

from __future__ import annotations

from ..checks import check_upstream
from ..module import Module, Sequential
from .activation import ReLU
from .batchnorm import BatchNorm2d
from .conv import Conv2d

__all__ = ["BasicBlock"]


class BasicBlock(Module):
    """``BasicBlock(in_planes, planes, stride=1, shortcut=True)``.

    Shapes: x (N, in_planes, H, W) -> y (N, planes, ⌈H/stride⌉, ⌈W/stride⌉).

    Forward::

        F(x) = BN₂(conv₂(ReLU(BN₁(conv₁(x)))))     conv₁: 3×3, stride s;  conv₂: 3×3, stride 1
        y    = ReLU(F(x) + S(x))                   with shortcut
        y    = ReLU(F(x))                          shortcut=False (a "plain" block)

    ``S`` is the identity when the shape is kept, else the projection ``BN(conv1×1,s(x))``
    (He et al.'s option B), held in ``self.shortcut`` = ``Sequential(Conv2d, BatchNorm2d)``,
    so the names (``conv1, bn1, conv2, bn2, shortcut.0, shortcut.1``) are those of the
    common PyTorch CIFAR ResNet and its ``state_dict`` loads.

    Backward of the sum: ``s = F(x) + S(x)`` has ``∂s/∂F = ∂s/∂S = I``, so the upstream
    gradient ``g = ∂L/∂s`` is handed *unchanged* to both branches, and since ``x`` feeds both,
    their input gradients add::

        ∂L/∂x = F'(x)ᵀ g + S'(x)ᵀ g          (S'(x)ᵀ g = g for the identity)

    That second term is the point of the block: however small the Jacobians in ``F``
    get, ``g`` itself reaches ``x`` through the identity path. (``g`` is the gradient
    *after* the final ReLU, zero where the sum was negative; and ``F'(x)ᵀ g`` can cancel
    part of it, so "at least undiminished" is not guaranteed, only "not only through ``F``".)
    """

    def __init__(self, in_planes: int, planes: int, stride: int = 1, shortcut: bool = True):
        super().__init__()
        self.in_planes, self.planes, self.stride = int(in_planes), int(planes), int(stride)
        self.conv1 = Conv2d(in_planes, planes, 3, stride=stride, padding=1, bias=False)
        self.bn1 = BatchNorm2d(planes)
        self.relu1 = ReLU(inplace=True)  # its input, BN₁'s output, is read by nothing else
        self.conv2 = Conv2d(planes, planes, 3, stride=1, padding=1, bias=False)
        self.bn2 = BatchNorm2d(planes)
        self.relu2 = ReLU(inplace=True)  # likewise the sum below
        self.has_shortcut = bool(shortcut)
        self.projection = self.has_shortcut and (stride != 1 or in_planes != planes)
        if self.projection:
            self.shortcut = Sequential(
                Conv2d(in_planes, planes, 1, stride=stride, bias=False),
                BatchNorm2d(planes),
            )

    # --8<-- [start:basicblock]
    def forward(self, x):
        out = self.relu1(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        if self.has_shortcut:
            out += self.shortcut(x) if self.projection else x  # out is BN₂'s new array: add in place
        self.save_for_backward(out.shape)
        return self.relu2(out)

    def backward(self, dy):
        check_upstream(dy, self.saved(), "dy", "BasicBlock")
        g = self.relu2.backward(dy)  # ∂L/∂(F(x) + S(x)): both branches receive it as is
        d_main = self.conv1.backward(self.bn1.backward(self.relu1.backward(
            self.conv2.backward(self.bn2.backward(g)))))
        if not self.has_shortcut:
            return d_main
        d_skip = self.shortcut.backward(g) if self.projection else g
        d_main += d_skip  # x fed both branches: their gradients add (into conv₁'s new array)
        return d_main
    # --8<-- [end:basicblock]

    def extra_repr(self) -> str:
        return f"{self.in_planes}, {self.planes}, stride={self.stride}, shortcut={self.has_shortcut}"
