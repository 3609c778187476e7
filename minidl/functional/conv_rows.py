"""A stride-1 convolution as ``kh`` products over row-shifted views: the patches copied for
one kernel row only, ``kw`` numbers wide instead of ``kh·kw``.

Write one zero-padded input image as ``x̃[a, b, c]`` and the kernel's rows as
``Ŵ_i: (kw·C, O)``, ``Ŵ_i[(j, c), o] = W[o, c, i, j]``. With vertical stride 1,

    y[h, w, o] = Σ_i Σ_(j,c) x̃[h + i·d_h, w·s_w + j·d_w, c] · W[o, c, i, j]
               = Σ_i (R · Ŵ_i)[(h + i·d_h, w), o]

where ``R[(a, w), (j, c)] = x̃[a, w·s_w + j·d_w, c]`` holds each pixel's ``kw`` horizontal
neighbours for *every* padded row ``a``: a ``(Hp·Wo, kw·C)`` matrix whose row ``(a, w)`` is
row ``a·Wo + w``. The rows ``(h + i·d_h, w)`` for ``h = 0 … Ho − 1`` are then the
``Ho·Wo`` consecutive rows starting at row ``i·d_h·Wo``: kernel row ``i`` reads a *view* of
``R``. im2col copies ``kh·kw·C`` numbers per output pixel (nine times the input for a 3×3
kernel); ``R`` copies ``kw·C`` (three times), and the ``kh`` kernel rows become ``kh``
products, added:

    Y = Σ_i R[i·d_h·Wo : i·d_h·Wo + Ho·Wo] · Ŵ_i

One image at a time: the next image's rows do not follow on from this one's (its padding
lies between), and one image of a layer worth it (:mod:`~minidl.functional.conv_fast` says
which) is already a product of hundreds of rows.

The same shifted products give both gradients of :mod:`~minidl.functional.conv_fast`'s
stride-1 backward (a convolution of ``∂L/∂y`` with the flipped kernel): ``∂L/∂x`` as above,
and the weight gradient's block of kernel row ``i`` as ``Xᵀ · R_i`` (``X``: the image's
``(H·W, C)`` pixels).

This module holds only that idea; which layers use it, and the threads around it, are
:mod:`~minidl.functional.conv_fast`'s. Tested equal to the im2col pair in float64.
"""

from __future__ import annotations

from ..backend import get_array_module
from ..errors import RangeError
from .geometry import ConvGeometry
from .workspace import Workspace

__all__ = ["kernel_row", "row_windows", "shifted_products"]


# --8<-- [start:row_shifted]
def row_windows(src, geo: ConvGeometry, workspace: Workspace):
    """Yield ``(n, rows)`` for each image ``n`` of ``src: (N, H, W, C)`` (any strides), for
    the window ``geo`` (vertical stride 1): ``rows[i]`` is ``R_i``, the ``Ho·Wo`` rows of
    ``R: (Hp·Wo, kw·C)`` (the horizontal windows of every padded row, ``(j, c)`` column
    order) that kernel row ``i`` reads. R is one workspace buffer, refilled per image, so
    the views are made once."""
    xp = get_array_module(src)
    (kh, kw), (sh, sw), (ph, pw), (dh, dw), (Ho, Wo) = geo
    if sh != 1:
        raise RangeError(f"row-shifted products need vertical stride 1, got {sh}")
    N, H, W, C = src.shape
    Hp = H + 2 * ph
    if ph or pw:  # one padded image: its border zeroed once, its inside refilled per image
        padded = workspace.array("rows_padded", (1, Hp, W + 2 * pw, C), src)
        padded[:, :ph], padded[:, ph + H:], padded[:, :, :pw], padded[:, :, pw + W:] = 0, 0, 0, 0
    else:
        padded = src
    sN, sH, sW, sC = padded.strides
    windows = xp.lib.stride_tricks.as_strided(  # read only: neighbouring windows overlap
        padded, shape=(padded.shape[0], Hp, Wo, kw, C), strides=(sN, sH, sW * sw, sW * dw, sC))
    R = workspace.array("rows", (Hp * Wo, kw * C), src)
    rows = [kernel_row(R, i, geo) for i in range(kh)]
    for n in range(N):
        if ph or pw:
            padded[0, ph:ph + H, pw:pw + W] = src[n]
        xp.copyto(R.reshape(Hp, Wo, kw, C), windows[0 if ph or pw else n])
        yield n, rows


def kernel_row(R, i: int, geo: ConvGeometry):
    """``R_i``: the ``Ho·Wo`` rows of ``R`` that kernel row ``i`` reads, from row ``i·d_h·Wo``
    on (a view)."""
    (Ho, Wo), dh = geo.out, geo.dilation[0]
    return R[i * dh * Wo:i * dh * Wo + Ho * Wo]


def shifted_products(rows, blocks, out, scratch):
    """``out = Σ_i R_i · blocks[i]``, added in the order ``i = 0, 1, …``.

    rows: the ``kh`` views ``R_i: (Ho·Wo, kw·C)``; blocks: ``kh`` matrices ``(kw·C, O)``;
    out, scratch: ``(Ho·Wo, O)`` (scratch holds each product before it is added)."""
    xp = get_array_module(out)
    xp.matmul(rows[0], blocks[0], out=out)
    for i in range(1, len(blocks)):
        out += xp.matmul(rows[i], blocks[i], out=scratch)
    return out
# --8<-- [end:row_shifted]
