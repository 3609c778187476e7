"""The geometry of a sliding window (convolution, pooling): settings as pairs, checked, and the
output size.

Along each spatial axis a window of ``k`` taps spaced ``d`` apart (dilation), moved in
steps of ``s`` (stride) over the input padded by ``p`` on both sides, fits

    Ho = ⌊(H + 2·p − d·(k − 1) − 1) / s⌋ + 1

times: the padded length ``H + 2p`` minus the window's span ``d·(k − 1) + 1``, divided by
the step, plus the first position.
"""

from __future__ import annotations

import operator
from typing import NamedTuple

from ..errors import RangeError, ShapeError

__all__ = ["pair", "conv_output_size", "ConvGeometry", "conv_geometry"]


def pair(v, name: str, who: str = "") -> tuple[int, int]:
    """``3`` -> ``(3, 3)``; ``(3, 2)`` -> ``(3, 2)``. Raises RangeError naming ``who`` and ``name``."""
    try:
        a, b = (v, v) if not isinstance(v, (tuple, list)) else v
        return operator.index(a), operator.index(b)
    except (TypeError, ValueError):
        raise RangeError(f"{who + ': ' if who else ''}{name} must be an int or a pair of ints, got {v!r}") from None


def conv_output_size(input_size, kernel_size, stride=1, padding=0, dilation=1) -> tuple[int, int]:
    """``(Ho, Wo)`` of a window sliding over an image of ``input_size = (H, W)``:
    ``Ho = ⌊(H + 2·p − d·(kh − 1) − 1) / s⌋ + 1``, likewise ``Wo`` (may be < 1: no room)."""
    (H, W), (kh, kw) = pair(input_size, "input_size"), pair(kernel_size, "kernel_size")
    (sh, sw), (ph, pw), (dh, dw) = pair(stride, "stride"), pair(padding, "padding"), pair(dilation, "dilation")
    return (H + 2 * ph - dh * (kh - 1) - 1) // sh + 1, (W + 2 * pw - dw * (kw - 1) - 1) // sw + 1


class ConvGeometry(NamedTuple):
    """A sliding window's settings as pairs, and the output size ``out = (Ho, Wo)``."""

    kernel: tuple
    stride: tuple
    padding: tuple
    dilation: tuple
    out: tuple


def conv_geometry(x_shape, kernel_size, stride=1, padding=0, dilation=1, who="conv2d") -> ConvGeometry:
    """Check the settings (RangeError naming the bad one) and that the window fits ``x_shape``."""
    g = ConvGeometry(pair(kernel_size, "kernel_size", who), pair(stride, "stride", who),
                     pair(padding, "padding", who), pair(dilation, "dilation", who), (0, 0))
    for name, value, low in [("kernel_size", g.kernel, 1), ("stride", g.stride, 1), ("padding", g.padding, 0),
                             ("dilation", g.dilation, 1)]:
        if min(value) < low:
            raise RangeError(f"{who}: {name} must be >= {low}, got {value}")
    out = conv_output_size(x_shape[-2:], g.kernel, g.stride, g.padding, g.dilation)
    if min(out) < 1:
        span = tuple(d * (k - 1) + 1 for d, k in zip(g.dilation, g.kernel))
        raise ShapeError(f"{who}: input of spatial size {tuple(x_shape[-2:])} with padding {g.padding} is "
                         f"smaller than the (dilated) window {span}: output size would be {out}")
    return g._replace(out=out)
