"""ResNets for CIFAR-10 (report E), and the same nets without shortcuts ("plain").

``resnet34`` is report E's network: a 3×3 stride-1 stem (no max-pool: a 32×32 image is
small already), four stages of [3, 4, 6, 3] :class:`~minidl.nn.BasicBlock` of widths
64/128/256/512 (stages 2–4 halve the resolution in their first block), global average
pooling and ``Linear(512, 10)``. ``resnet20`` is He et al.'s CIFAR net: three stages of
3 blocks, widths 16/32/64 — 0.27 M parameters instead of 21 M, so it trains on a CPU.
``plain34``/``plain20`` are the same stacks with ``shortcut=False``: report E's
comparison, where the plain net trains slower and worse.

Shapes: x (N, 3, 32, 32) -> logits (N, num_classes). Parameter names follow the common
PyTorch CIFAR ResNet (``conv1, bn1, layer1.0.conv1, …, layer2.0.shortcut.0, linear``),
so that net's ``state_dict`` loads.
"""

from __future__ import annotations

from ..errors import RangeError
from ..module import Module, Sequential
from ..nn.activation import ReLU
from ..nn.batchnorm import BatchNorm2d
from ..nn.conv import Conv2d, share_workspace
from ..nn.flatten import Flatten
from ..nn.linear import Linear
from ..nn.pool import AdaptiveAvgPool2d
from ..nn.residual import BasicBlock

__all__ = ["ResNet", "resnet20", "plain20", "resnet34", "plain34"]


class ResNet(Module):
    """``ResNet(num_blocks, widths, num_classes=10, shortcut=True, in_channels=3)``.

    stem ``conv1`` (3×3, stride 1) → ``bn1`` → ReLU → ``layer1 … layerK`` (stage ``k`` has
    ``num_blocks[k]`` blocks of width ``widths[k]``, stride 2 in the first block of every
    stage but the first) → global average pool → flatten → ``linear``.

    Shapes: x (N, in_channels, H, W) -> logits (N, num_classes).

    All convolutions share one :class:`~minidl.functional.workspace.Workspace`
    (``self.workspace``): a training step holds one im2col matrix, the largest layer's.
    """

    def __init__(self, num_blocks, widths, num_classes: int = 10, shortcut: bool = True,
                 in_channels: int = 3):
        super().__init__()
        if len(num_blocks) != len(widths):
            raise RangeError(f"ResNet: num_blocks {num_blocks} and widths {widths} must have the same length")
        self.conv1 = Conv2d(in_channels, widths[0], 3, stride=1, padding=1, bias=False)
        self.bn1 = BatchNorm2d(widths[0])
        self.relu = ReLU()
        in_planes = widths[0]
        for k, (n, width) in enumerate(zip(num_blocks, widths)):
            stride = 1 if k == 0 else 2
            blocks = []
            for b in range(n):
                blocks.append(BasicBlock(in_planes, width, stride if b == 0 else 1, shortcut=shortcut))
                in_planes = width
            setattr(self, f"layer{k + 1}", Sequential(*blocks))
        self.num_stages = len(widths)
        self.avgpool = AdaptiveAvgPool2d(1)
        self.flatten = Flatten()
        self.linear = Linear(in_planes, num_classes)
        # the convolutions run one at a time, so one im2col scratch serves them all
        self.workspace = share_workspace(self)

    def _stages(self):
        return [getattr(self, f"layer{k + 1}") for k in range(self.num_stages)]

    def forward(self, x):
        out = self.relu(self.bn1(self.conv1(x)))
        for stage in self._stages():
            out = stage(out)
        return self.linear(self.flatten(self.avgpool(out)))

    def backward(self, dlogits):
        g = self.avgpool.backward(self.flatten.backward(self.linear.backward(dlogits)))
        for stage in reversed(self._stages()):
            g = stage.backward(g)
        return self.conv1.backward(self.bn1.backward(self.relu.backward(g)))


def resnet34(num_classes: int = 10) -> ResNet:
    """Report E's CIFAR ResNet-34: [3, 4, 6, 3] BasicBlocks, widths 64/128/256/512 (21.3 M parameters)."""
    return ResNet([3, 4, 6, 3], [64, 128, 256, 512], num_classes)


def plain34(num_classes: int = 10) -> ResNet:
    """ResNet-34 without its shortcuts (report E's "mycnn")."""
    return ResNet([3, 4, 6, 3], [64, 128, 256, 512], num_classes, shortcut=False)


def resnet20(num_classes: int = 10) -> ResNet:
    """He et al.'s CIFAR ResNet-20: 3 stages × 3 BasicBlocks, widths 16/32/64 (0.27 M parameters)."""
    return ResNet([3, 3, 3], [16, 32, 64], num_classes)


def plain20(num_classes: int = 10) -> ResNet:
    """ResNet-20 without its shortcuts."""
    return ResNet([3, 3, 3], [16, 32, 64], num_classes, shortcut=False)
