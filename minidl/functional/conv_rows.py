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

One product per image: the next image's rows do not follow on from this one's (its padding
lies between), and one image of a layer worth it (:mod:`~minidl.functional.conv_fast` says
which) is already a product of hundreds of rows. But a *group* of images goes through each
call: their windows side by side, ``(k, Hp·Wo, kw·C)``, and each kernel row a batch of ``k``
views, which ``matmul`` multiplies one after the other without coming back to Python. That
is a dozen NumPy calls per group instead of per image, which matters when two threads share
Python's interpreter lock.

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

__all__ = ["kernel_row", "row_shifted_conv", "row_shifted_grads", "row_windows", "shifted_products"]


# --8<-- [start:row_shifted]
def row_windows(src, geo: ConvGeometry, workspace: Workspace, images: int = 1):
    """Yield ``(n0, n1, rows)`` for consecutive groups of up to ``images`` images of
    ``src: (N, H, W, C)`` (any strides), for the window ``geo`` (vertical stride 1):
    ``rows[i]: (n1 − n0, Ho·Wo, kw·C)`` is ``R_i`` of each image of the group, the rows of
    ``R: (Hp·Wo, kw·C)`` (the horizontal windows of every padded row, ``(j, c)`` column
    order) that kernel row ``i`` reads. The group's windows are one workspace buffer
    ``(k, Hp·Wo, kw·C)``, refilled for each group, so the views are made once."""
    xp = get_array_module(src)
    (kh, kw), (sh, sw), (ph, pw), (dh, dw), (Ho, Wo) = geo
    if sh != 1:
        raise RangeError(f"row-shifted products need vertical stride 1, got {sh}")
    N, H, W, C = src.shape
    Hp, k = H + 2 * ph, max(1, min(images, N))
    if ph or pw:  # k padded images: their borders zeroed once, their insides refilled per group
        padded = workspace.array("rows_padded", (k, Hp, W + 2 * pw, C), src)
        padded[:, :ph], padded[:, ph + H:], padded[:, :, :pw], padded[:, :, pw + W:] = 0, 0, 0, 0
    else:
        padded = src
    sN, sH, sW, sC = padded.strides
    windows = xp.lib.stride_tricks.as_strided(  # read only: neighbouring windows overlap
        padded, shape=(padded.shape[0], Hp, Wo, kw, C), strides=(sN, sH, sW * sw, sW * dw, sC))
    R = workspace.array("rows", (k, Hp * Wo, kw * C), src)
    rows = [kernel_row(R, i, geo) for i in range(kh)]
    for n0 in range(0, N, k):
        n = min(k, N - n0)
        if ph or pw:
            padded[:n, ph:ph + H, pw:pw + W] = src[n0:n0 + n]
            xp.copyto(R[:n].reshape(n, Hp, Wo, kw, C), windows[:n])
        else:
            xp.copyto(R[:n].reshape(n, Hp, Wo, kw, C), windows[n0:n0 + n])
        yield n0, n0 + n, [r[:n] for r in rows]


def kernel_row(R, i: int, geo: ConvGeometry):
    """``R_i``: the ``Ho·Wo`` rows of each image's ``R: (k, Hp·Wo, kw·C)`` that kernel row
    ``i`` reads, from row ``i·d_h·Wo`` on (a view)."""
    (Ho, Wo), dh = geo.out, geo.dilation[0]
    return R[:, i * dh * Wo:i * dh * Wo + Ho * Wo]


def shifted_products(rows, blocks, out, scratch):
    """``out = Σ_i R_i · blocks[i]``, added in the order ``i = 0, 1, …``, for each image.

    rows: the ``kh`` views ``R_i: (k, Ho·Wo, kw·C)``; blocks: ``kh`` matrices ``(kw·C, O)``;
    out, scratch: ``(k, Ho·Wo, O)`` (scratch holds each product before it is added)."""
    xp = get_array_module(out)
    xp.matmul(rows[0], blocks[0], out=out)
    for i in range(1, len(blocks)):
        out += xp.matmul(rows[i], blocks[i], out=scratch)
    return out


def row_shifted_conv(src, w_t, geo: ConvGeometry, workspace: Workspace, out, images: int):
    """``out: (n·Ho·Wo, O)`` = the convolution of ``src: (n, H, W, C)`` with ``Ŵᵀ = w_t:
    (kh·kw·C, O)`` (rows in ``(i, j, c)`` order), ``images`` images per call."""
    (kh, kw), O = geo.kernel, w_t.shape[1]
    C, rows = src.shape[3], geo.out[0] * geo.out[1]
    blocks = [w_t[i * kw * C:(i + 1) * kw * C] for i in range(kh)]  # Ŵ_i: kernel row i
    scratch = workspace.array("rows_product", (min(images, src.shape[0]), rows, O), src)
    out_images = out.reshape(-1, rows, O)
    for n0, n1, views in row_windows(src, geo, workspace, images):
        shifted_products(views, blocks, out_images[n0:n1], scratch[:n1 - n0])


def row_shifted_grads(x_nhwc, dy_nhwc, w_flip, flipped: ConvGeometry, workspace: Workspace, dx2, images: int):
    """The stride-1 backward (:func:`~minidl.functional.conv_fast._stride1_grads`) of images
    ``x_nhwc: (n, H, W, C)`` from ``dy_nhwc: (n, Ho, Wo, O)``, with ``flipped`` the geometry
    of ``∂L/∂x`` as a convolution of ``dy`` with ``W_flip: (kh·kw·O, C)``: ``∂L/∂x`` into
    ``dx2: (n·H·W, C)`` by the shifted products over the windows ``R`` of ``dy``, and the
    weight gradient's block of kernel row ``i`` as ``Σ_images Xᵀ·R_i``. Returns
    ``G: (C, kh·kw·O)``, columns in ``(i', j', o)`` order (the kernel flipped)."""
    xp = get_array_module(dy_nhwc)
    kh, kw = flipped.kernel
    N, C, O, rows = x_nhwc.shape[0], x_nhwc.shape[3], dy_nhwc.shape[3], x_nhwc.shape[1] * x_nhwc.shape[2]
    k = max(1, min(images, N))
    blocks = [w_flip[i * kw * O:(i + 1) * kw * O] for i in range(kh)]
    G = xp.zeros((kh, k, C, kw * O), dtype=dy_nhwc.dtype)  # per kernel row and place in the group
    part = xp.empty((k, C, kw * O), dtype=dy_nhwc.dtype)
    scratch = workspace.array("rows_product", (k, rows, C), dy_nhwc)
    dx_images, x_images = dx2.reshape(N, rows, C), x_nhwc.reshape(N, rows, C)
    for n0, n1, views in row_windows(dy_nhwc, flipped, workspace, k):
        n = n1 - n0
        shifted_products(views, blocks, dx_images[n0:n1], scratch[:n])
        pixels_t = x_images[n0:n1].transpose(0, 2, 1)
        for i in range(kh):
            G[i, :n] += xp.matmul(pixels_t, views[i], out=part[:n])
    return G.sum(axis=1).transpose(1, 0, 2).reshape(C, kh * kw * O)  # over the places in the group
# --8<-- [end:row_shifted]
