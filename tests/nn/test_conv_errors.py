"""Bad input to the convolution stack (Conv2d, pooling, BatchNorm, BasicBlock, ResNet): one
row per case, each a documented minidl error whose message names the call and the argument.

Rows: (case id, a callable that must raise, the error class, a regex the message must match).
"""

import numpy as np
import pytest

from minidl import nn
from minidl.errors import DTypeError, RangeError, ShapeError
from minidl.models.resnet import ResNet

f32 = np.float32


def _x(*shape, dtype=f32):
    return np.zeros(shape, dtype)


def _backward_with(layer, x, dy):
    """Run a forward on ``x``, then a backward with the given upstream gradient."""
    layer(x)
    return layer.backward(dy)


CASES = [
    # ---- Conv2d: settings
    ("conv-kernel-0", lambda: nn.Conv2d(3, 4, 0), RangeError, r"Conv2d: kernel_size must be >= 1, got \(0, 0\)"),
    ("conv-stride-0", lambda: nn.Conv2d(3, 4, 3, stride=0), RangeError, r"Conv2d: stride must be >= 1, got \(0, 0\)"),
    ("conv-padding-neg", lambda: nn.Conv2d(3, 4, 3, padding=-1), RangeError, r"Conv2d: padding must be >= 0"),
    ("conv-dilation-0", lambda: nn.Conv2d(3, 4, 3, dilation=(1, 0)), RangeError, r"Conv2d: dilation must be >= 1"),
    ("conv-kernel-triple", lambda: nn.Conv2d(3, 4, (3, 3, 3)), RangeError,
     r"Conv2d: kernel_size must be an int or a pair of ints, got \(3, 3, 3\)"),
    ("conv-kernel-float", lambda: nn.Conv2d(3, 4, 2.5), RangeError,
     "Conv2d: kernel_size must be an int or a pair of ints, got 2.5"),
    ("conv-padding-same", lambda: nn.Conv2d(3, 4, 3, padding="same"), RangeError, "padding must be an int, a pair or"),
    ("conv-padding-mode", lambda: nn.Conv2d(3, 4, 3, padding_mode="reflect"), RangeError,
     "padding_mode must be 'zeros'"),
    ("conv-groups", lambda: nn.Conv2d(3, 4, 3, groups=2), RangeError, r"must be divisible by groups \(2\)"),
    ("conv-groups-0", lambda: nn.Conv2d(4, 4, 3, groups=0), RangeError, "groups must be an int >= 1, got 0"),
    ("conv-channels-0", lambda: nn.Conv2d(0, 4, 3), RangeError, "in_channels must be an int >= 1, got 0"),
    # ---- Conv2d: input
    ("conv-channels", lambda: nn.Conv2d(3, 4, 3)(_x(2, 4, 5, 5)), ShapeError,
     r"Conv2d: input must have shape \(N, 3, H, W\), got \(2, 4, 5, 5\)"),
    ("conv-3d", lambda: nn.Conv2d(3, 4, 3)(_x(3, 5, 5)), ShapeError, r"\(N, 3, H, W\), got \(3, 5, 5\)"),
    ("conv-too-small", lambda: nn.Conv2d(3, 4, 3)(_x(1, 3, 2, 2)), ShapeError, "smaller than the"),
    ("conv-int", lambda: nn.Conv2d(3, 4, 3)(_x(1, 3, 5, 5, dtype=np.int64)), DTypeError,
     "Conv2d: input must have dtype float32 .*got int64"),
    ("conv-float64", lambda: nn.Conv2d(3, 4, 3)(_x(1, 3, 5, 5, dtype=np.float64)), DTypeError,
     "Conv2d: input must have dtype float32 .*got float64"),
    ("conv-list", lambda: nn.Conv2d(1, 1, 1)([[[[1.0]]]]), DTypeError, "Conv2d: input must be an array .*list"),
    ("conv-dy-shape", lambda: _backward_with(nn.Conv2d(3, 4, 3), _x(2, 3, 5, 5), _x(2, 4, 3, 4)), ShapeError,
     r"Conv2d.backward: dy must have the output's shape \(2, 4, 3, 3\), got \(2, 4, 3, 4\)"),
    ("conv-dy-list", lambda: _backward_with(nn.Conv2d(1, 1, 1), _x(1, 1, 1, 1), [[[[1.0]]]]), DTypeError,
     "Conv2d: dy must be an array"),
    # ---- pooling
    ("maxpool-kernel-0", lambda: nn.MaxPool2d(0), RangeError, r"MaxPool2d: kernel_size must be >= 1, got \(0, 0\)"),
    ("maxpool-stride-0", lambda: nn.MaxPool2d(2, stride=0), RangeError, r"MaxPool2d: stride must be >= 1"),
    ("maxpool-padding-neg", lambda: nn.MaxPool2d(2, padding=-1), RangeError, r"MaxPool2d: padding must be >= 0"),
    ("maxpool-padding-half", lambda: nn.MaxPool2d(2, padding=2)(_x(1, 1, 4, 4)), RangeError,
     "padding must be at most half the"),
    ("maxpool-ceil", lambda: nn.MaxPool2d(2, ceil_mode=True), NotImplementedError, "ceil_mode"),
    ("maxpool-3d", lambda: nn.MaxPool2d(2)(_x(3, 4, 4)), ShapeError,
     r"MaxPool2d: input must have shape \(N, C, H, W\), got \(3, 4, 4\)"),
    ("maxpool-int", lambda: nn.MaxPool2d(2)(_x(1, 1, 4, 4, dtype=np.int64)), DTypeError,
     "MaxPool2d: input must be a floating array, got dtype int64"),
    ("maxpool-list", lambda: nn.MaxPool2d(1)([[[[1.0]]]]), DTypeError, "MaxPool2d: input must be an array"),
    ("maxpool-dy", lambda: _backward_with(nn.MaxPool2d(2), _x(1, 2, 4, 4), _x(1, 2, 3, 2)), ShapeError,
     r"MaxPool2d.backward: dy must have the output's shape \(1, 2, 2, 2\)"),
    ("avgpool-small", lambda: nn.AvgPool2d(3)(_x(1, 1, 2, 2)), ShapeError, "smaller than the"),
    ("avgpool-kernel", lambda: nn.AvgPool2d((2, 0)), RangeError, r"AvgPool2d: kernel_size must be >= 1"),
    ("avgpool-dy", lambda: _backward_with(nn.AvgPool2d(2), _x(1, 2, 4, 4), _x(1, 2, 2)), ShapeError,
     r"AvgPool2d.backward: dy must have the output's shape \(1, 2, 2, 2\), got \(1, 2, 2\)"),
    ("adaptive-2d", lambda: nn.AdaptiveAvgPool2d(1)(_x(2, 3)), ShapeError,
     r"AdaptiveAvgPool2d: input must have shape \(N, C, H, W\)"),
    ("adaptive-size-pair", lambda: nn.AdaptiveAvgPool2d((1, 2, 3)), RangeError,
     "AdaptiveAvgPool2d: output_size must be an int or a pair of ints"),
    ("adaptive-size-0", lambda: nn.AdaptiveAvgPool2d(0), RangeError, "AdaptiveAvgPool2d: output_size must be >= 1"),
    ("adaptive-dy", lambda: _backward_with(nn.AdaptiveAvgPool2d(1), _x(2, 3, 4, 4), _x(2, 3)), ShapeError,
     r"AdaptiveAvgPool2d.backward: dy must have the output's shape \(2, 3, 1, 1\)"),
    ("adaptive-dy-int", lambda: _backward_with(nn.AdaptiveAvgPool2d(1), _x(2, 3, 4, 4), _x(2, 3, 1, 1, dtype=int)),
     DTypeError, "dy must be a floating array"),
    # ---- BatchNorm
    ("bn2d-channels", lambda: nn.BatchNorm2d(3)(_x(2, 4, 5, 5)), ShapeError,
     r"BatchNorm2d: input must have shape \(N, 3, H, W\), got \(2, 4, 5, 5\)"),
    ("bn1d-4d", lambda: nn.BatchNorm1d(3)(_x(2, 3, 4, 4)), ShapeError,
     r"BatchNorm1d: input must have shape \(N, 3\) or \(N, 3, L\)"),
    ("bn-one-value", lambda: nn.BatchNorm1d(3)(_x(1, 3)), ShapeError, "more than 1 value per channel"),
    ("bn-int", lambda: nn.BatchNorm1d(3)(_x(2, 3, dtype=np.int64)), DTypeError,
     "BatchNorm1d: input must be a floating array, got dtype int64"),
    ("bn2d-float64", lambda: nn.BatchNorm2d(3)(_x(2, 3, 4, 4, dtype=np.float64)), DTypeError,
     r"BatchNorm2d: input must have dtype float32 \(the parameters'\), got float64"),
    ("bn2d-float64-no-affine", lambda: nn.BatchNorm2d(3, affine=False)(_x(2, 3, 4, 4, dtype=np.float64)),
     DTypeError, "BatchNorm2d: input must have dtype float32"),
    ("bn2d-list", lambda: nn.BatchNorm2d(1)([[[[1.0]]], [[[2.0]]]]), DTypeError, "BatchNorm2d: input must be an array"),
    ("bn2d-dy", lambda: _backward_with(nn.BatchNorm2d(2), _x(2, 2, 3, 3), _x(2, 2, 3, 1)), ShapeError,
     r"BatchNorm2d.backward: dy must have the output's shape \(2, 2, 3, 3\), got \(2, 2, 3, 1\)"),
    ("bn-eval-dy", lambda: _backward_with(nn.BatchNorm1d(2).eval(), _x(4, 2), _x(4, 3)), ShapeError,
     r"BatchNorm1d.backward: dy must have the output's shape \(4, 2\), got \(4, 3\)"),
    # ---- the residual block and the ResNet pass their checks through
    ("block-channels", lambda: nn.BasicBlock(2, 4)(_x(1, 3, 4, 4)), ShapeError,
     r"Conv2d: input must have shape \(N, 2, H, W\)"),
    ("block-dy", lambda: _backward_with(nn.BasicBlock(2, 2), _x(2, 2, 4, 4), _x(2, 2, 4, 5)), ShapeError,
     r"BasicBlock.backward: dy must have the output's shape \(2, 2, 4, 4\)"),
    ("resnet-float64", lambda: ResNet([1], [2], in_channels=1)(_x(2, 1, 4, 4, dtype=np.float64)), DTypeError,
     "Conv2d: input must have dtype float32"),
    ("resnet-shapes", lambda: ResNet([1, 1], [2]), RangeError, "num_blocks .* and widths .* must have the same length"),
]


@pytest.mark.parametrize("call,error,match", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_bad_input_raises_a_named_error(call, error, match):
    with pytest.raises(error, match=match):
        call()
