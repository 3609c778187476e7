"""Exercise: the backward pass of the residual BasicBlock of ResNet (chapter:
convolution-resnet.md).

Forward (given below): x: (N, C, H, W), two 3×3 convolutions (stride 1, padding 1, no
bias), each followed by BatchNorm in training mode, and the identity shortcut:

    v1 = BN₁(conv₁(x))            a1 = ReLU(v1)
    f  = BN₂(conv₂(a1))           (the branch F(x))
    s  = f + x                    (the shortcut)
    y  = ReLU(s)                                      y: (N, C, H, W)

The forward returns y and a ``cache`` dict: ``"conv1"``, ``"conv2"`` the caches of
``minidl.functional.conv.conv2d_forward``; ``"bn1"``, ``"bn2"`` those of
``minidl.functional.batchnorm.batch_norm_train_forward``; the arrays ``"v1"``, ``"f"``
and ``"s"``. Use the library's backward of each layer (imported below):
``conv2d_backward(d, cache) -> {"x", "weight"}``, ``batch_norm_train_backward(d, cache)
-> {"x", "weight", "bias"}``. What you write is how they connect.

Given dy = ∂L/∂y: (N, C, H, W), return

    dx: (N, C, H, W),  dconv1_weight, dconv2_weight: (C, C, 3, 3),
    dbn1_weight, dbn1_bias, dbn2_weight, dbn2_bias: (C,)

Hint: which array's sign decides the last ReLU's mask? And x is used twice.

Check it:  python -m minidl.exercises check basic_block_backward
"""

import numpy as np

from minidl.functional.batchnorm import batch_norm_train_backward, batch_norm_train_forward  # noqa: F401
from minidl.functional.conv import conv2d_backward, conv2d_forward  # noqa: F401


def basic_block_forward(x, conv1_weight, bn1_weight, bn1_bias, conv2_weight, bn2_weight, bn2_bias):
    """Given: y = ReLU(BN₂(conv₂(ReLU(BN₁(conv₁(x))))) + x) -> (y, cache)."""
    u1, conv1 = conv2d_forward(x, conv1_weight, padding=1)
    v1, bn1 = batch_norm_train_forward(u1, bn1_weight, bn1_bias)
    u2, conv2 = conv2d_forward(np.maximum(v1, 0), conv2_weight, padding=1)
    f, bn2 = batch_norm_train_forward(u2, bn2_weight, bn2_bias)
    s = f + x
    return np.maximum(s, 0), {"conv1": conv1, "bn1": bn1, "v1": v1, "conv2": conv2, "bn2": bn2, "f": f, "s": s}


def basic_block_backward(dy, cache):
    """dy: (N, C, H, W); cache: the forward's (see above)
    -> (dx, dconv1_weight, dbn1_weight, dbn1_bias, dconv2_weight, dbn2_weight, dbn2_bias)."""
    raise NotImplementedError("the last ReLU, the branch in reverse order, and the shortcut")
