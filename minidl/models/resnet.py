"""ResNets for CIFAR-10 (report E), and the same nets without shortcuts ("plain").

``resnet34`` is report E's network: a 3×3 stride-1 stem (no max-pool: a 32×32 image is
small already), four stages of [3, 4, 6, 3] :class:`~minidl.nn.BasicBlock` of widths
64/128/256/512 (stages 2–4 halve the resolution in their first block), global average
pooling and ``Linear(512, 10)``. ``resnet20`` is He et al.'s CIFAR net: three stages of
3 blocks, widths 16/32/64 — 0.27 M parameters instead of 21 M, so it trains on a CPU.
``plain34``/``plain20`` are the same stacks with ``shortcut=False``: report E's
comparison, where the plain net trains slower and worse.

**Width.** Every builder takes ``width``, the base width w: the stages are w, 2w, 4w (and
8w), so ``resnet34(width=16)`` is report E's layout at 16/32/64/128 — a quarter of the
width, about 1/16 of the multiply-adds (72.8 M per image instead of 1.16 G,
:func:`conv_flops`), which two CPU cores can train. ``cifar_resnet(depth, width, shortcut)``
builds any of the four by depth (:data:`LAYOUTS`).

Shapes: x (N, 3, 32, 32) -> logits (N, num_classes). Parameter names follow the common
PyTorch CIFAR ResNet (``conv1, bn1, layer1.0.conv1, …, layer2.0.shortcut.0, linear``),
so that net's ``state_dict`` loads.
"""

from __future__ import annotations

from .. import backend
from ..checks import check_choice, check_number
from ..errors import RangeError
from ..module import Module, Sequential, no_grad
from ..nn.activation import ReLU
from ..nn.batchnorm import BatchNorm2d
from ..nn.conv import Conv2d, share_workspace
from ..nn.flatten import Flatten
from ..nn.linear import Linear
from ..nn.pool import AdaptiveAvgPool2d
from ..nn.residual import BasicBlock

__all__ = ["ResNet", "resnet20", "plain20", "resnet34", "plain34", "cifar_resnet", "stage_widths", "conv_flops",
           "LAYOUTS", "DEFAULT_WIDTHS"]


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


# --------------------------------------------------------------------------- the CIFAR nets
#: blocks per stage of the CIFAR nets, by depth: 1 stem conv + 2 convs per block + 1 Linear
LAYOUTS = {20: (3, 3, 3), 34: (3, 4, 6, 3)}
#: the base width w of each depth when none is given: report E's 64 for the 34-layer net,
#: He et al.'s 16 for the 20-layer one
DEFAULT_WIDTHS = {20: 16, 34: 64}


def stage_widths(depth: int, width: int | None = None) -> list:
    """The widths of the stages: ``w, 2w, 4w[, 8w]`` for base width ``w`` (default
    :data:`DEFAULT_WIDTHS`). ``stage_widths(34, 16) == [16, 32, 64, 128]``."""
    check_choice(depth, sorted(LAYOUTS), "depth", "cifar_resnet")
    w = DEFAULT_WIDTHS[depth] if width is None else check_number(width, "width", "cifar_resnet", low=1, integer=True)
    return [w * 2 ** k for k in range(len(LAYOUTS[depth]))]


def cifar_resnet(depth: int, width: int | None = None, shortcut: bool = True, num_classes: int = 10) -> ResNet:
    """The CIFAR net of ``depth`` 20 or 34 (:data:`LAYOUTS`) at base width ``width``, with or
    without shortcuts. Shapes: x (N, 3, 32, 32) -> logits (N, num_classes)."""
    widths = stage_widths(depth, width)  # checks depth and width first
    return ResNet(list(LAYOUTS[depth]), widths, num_classes, shortcut=shortcut)


def resnet34(num_classes: int = 10, width: int = 64) -> ResNet:
    """Report E's CIFAR ResNet-34: [3, 4, 6, 3] BasicBlocks of widths ``w, 2w, 4w, 8w``.

    Shapes: x (N, 3, 32, 32) → stem (N, w, 32, 32) → layer1 (N, w, 32, 32) → layer2
    (N, 2w, 16, 16) → layer3 (N, 4w, 8, 8) → layer4 (N, 8w, 4, 4) → pool (N, 8w) → logits
    (N, num_classes). Cost per 32×32 image (:func:`conv_flops`, multiply-adds of the
    convolutions and the Linear): w = 64 (report E's, the default) 1.16 G multiply-adds and
    21.3 M parameters; w = 16 (a quarter of the width, so about 1/16 of both) 72.8 M and
    1.33 M. The cost grows as w²: w = 32 is 290 M.
    """
    return cifar_resnet(34, width, True, num_classes)


def plain34(num_classes: int = 10, width: int = 64) -> ResNet:
    """ResNet-34 without its shortcuts (report E's "mycnn"): the same shapes; no 1×1
    projections, so a little cheaper (w = 64: 1.15 G multiply-adds, 21.1 M parameters;
    w = 16: 72.4 M, 1.32 M)."""
    return cifar_resnet(34, width, False, num_classes)


def resnet20(num_classes: int = 10, width: int = 16) -> ResNet:
    """He et al.'s CIFAR ResNet-20: 3 stages × 3 BasicBlocks of widths ``w, 2w, 4w``.

    Shapes: x (N, 3, 32, 32) → (N, w, 32, 32) → (N, 2w, 16, 16) → (N, 4w, 8, 8) → pool
    (N, 4w) → logits. At w = 16 (the default): 40.8 M multiply-adds per image, 0.27 M
    parameters (ResNet-34 at the same w costs 1.8 times as much).
    """
    return cifar_resnet(20, width, True, num_classes)


def plain20(num_classes: int = 10, width: int = 16) -> ResNet:
    """ResNet-20 without its shortcuts."""
    return cifar_resnet(20, width, False, num_classes)


def conv_flops(model: Module, input_shape=(3, 32, 32)) -> int:
    """Multiply-adds of one sample's forward pass through ``model``'s Conv2d and Linear
    layers (He et al.'s "FLOPs"; one multiply-add is two floating-point operations).

    A convolution producing ``y`` (1, C_out, H', W') costs ``C_out·H'·W' · (C_in/groups)·kh·kw``;
    a Linear, ``out · in``. BatchNorm, ReLU, the additions of the shortcuts and the pool are
    left out (a few per cent at most). Runs one forward of a zero sample of
    ``input_shape`` (no batch axis) in evaluation mode, without gradients, and counts.
    """
    counted = []

    def counting(layer, forward):
        def wrapped(x):
            y = forward(x)
            if isinstance(layer, Conv2d):
                kh, kw = layer.kernel_size
                counted.append(y.size * (layer.in_channels // layer.groups) * kh * kw)
            else:
                counted.append(y.size * layer.in_features)
            return y
        return wrapped

    layers = [m for m in model.modules() if isinstance(m, (Conv2d, Linear))]
    training = model.training
    for m in layers:
        object.__setattr__(m, "forward", counting(m, m.forward))
    try:
        model.eval()
        x = backend.to_device(backend.host_full((1, *input_shape), 0.0, model.parameters()[0].data.dtype), model.device)
        with no_grad():
            model(x)
    finally:
        for m in layers:
            object.__delattr__(m, "forward")
        model.train(training)
    return int(sum(counted))
