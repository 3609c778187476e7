"""2-D convolution as im2col + one GEMM; backward as two GEMMs + col2im; and the plain loop.

Shapes (PyTorch's): input ``x: (N, C, H, W)``, weight ``W: (O, C/g, kh, kw)``, bias
``b: (O,)``, output ``y: (N, O, Ho, Wo)`` with, per spatial axis,

    Ho = ⌊(H + 2·p − d·(kh − 1) − 1) / s⌋ + 1          (stride s, padding p, dilation d)

**Forward.** Output pixel ``(n, h, w)`` sees the input patch of the padded image ``x̃``

    y[n, o, h, w] = b[o] + Σ_{c, i, j} W[o, c, i, j] · x̃[n, c, h·s + i·d, w·s + j·d]

:func:`conv2d_reference_forward` is this formula as a loop over output positions. The
fast version copies every patch into one row of a matrix (*im2col*): row ``m = (n, h, w)``,
column ``k = (i, j, c)``, so ``cols: (M, K)`` with ``M = N·Ho·Wo`` and ``K = kh·kw·C``.
With the weight laid out in the same column order, ``Ŵ: (O, K)``, the whole convolution
is one matrix product, which BLAS runs at near peak speed:

    Y = cols · Ŵᵀ + b          Y: (M, O)  =  (N, Ho, Wo, O)

**Backward.** ``Y`` is an affine map of ``cols``, so (as for ``Linear``)

    ∂L/∂Ŵ    = dYᵀ · cols                  (O, K)      one GEMM
    ∂L/∂b    = Σ_m dY[m, :]                 (O,)
    ∂L/∂cols = dY · Ŵ                       (M, K)      one GEMM

and ``x̃[n, c, h·s + i·d, w·s + j·d]`` was copied into ``cols[(n, h, w), (i, j, c)]`` once
for every ``(h, w, i, j)`` that reaches it. A copy's adjoint is a sum, so *col2im* adds
every column block back where it came from: for each kernel offset ``(i, j)``, the block
``∂L/∂cols[:, (i, j, :)] = dY · W[:, :, i, j]`` is one strided slice of ``∂L/∂x̃``,

    ∂L/∂x̃[:, :, i·d : i·d + s·Ho : s, j·d : j·d + s·Wo : s] += dY · W[:, :, i, j]

``kh·kw`` vectorised adds, never a loop over pixels. Cropping the padding gives ``∂L/∂x``.

**Memory.** ``cols`` is ``kh·kw`` times the size of ``x``, so the cache keeps ``x`` (which
the previous layer holds anyway), not ``cols``: the backward copies the patches again (one
more im2col per layer and step, no extra arithmetic) and forms ``∂L/∂cols`` one ``(M, C)``
offset block at a time. These, and the padded input, live in a :class:`Workspace` that a
network's layers share (one copy of each, the largest layer's, instead of one per layer).

**Memory layout.** The patches are strided *views* of the input padded into a
*channels-last* buffer ``(N, H, W, C)``, so each patch row's ``(j, c)`` part is contiguous
and ``Y: (M, O)`` is already the output in channels-last order. We return it as the
``(N, O, Ho, Wo)`` array PyTorch promises, as a transposed *view* (PyTorch's
``memory_format=torch.channels_last``): shapes are what the user sees, strides are how
the numbers lie.

**Groups.** With ``groups = g`` the channels split into ``g`` independent convolutions
(input channels ``C/g`` and output channels ``O/g`` each), run one after the other.
"""

from __future__ import annotations

import numbers
from typing import NamedTuple

from ..backend import get_array_module
from ..checks import check_shape, require_array
from ..errors import DTypeError, RangeError, ShapeError
from .geometry import ConvGeometry, conv_geometry, pair
from .workspace import Workspace

__all__ = [
    "im2col", "col2im",
    "Conv2dCache", "conv2d_forward", "conv2d_backward",
    "ConvReferenceCache", "conv2d_reference_forward", "conv2d_reference_backward",
]


# ----------------------------------------------------------------------------- im2col, col2im
# --8<-- [start:im2col]
def im2col(x, kernel_size, stride=1, padding=0, dilation=1, workspace=None):
    """Patches of ``x`` as the rows of a matrix.

    x: (N, C, H, W), any memory layout -> cols: (N·Ho·Wo, kh·kw·C), row ``(n, h, w)``,
    column ``(i, j, c)``: ``cols[(n, h, w), (i, j, c)] = x̃[n, c, h·s + i·d, w·s + j·d]``
    where ``x̃`` is ``x`` zero-padded by ``padding``. Returns ``cols, (Ho, Wo)``.
    ``workspace``: where ``x̃`` and ``cols`` go (None: fresh arrays).
    """
    xp = get_array_module(x)
    (kh, kw), (sh, sw), (ph, pw), (dh, dw), (Ho, Wo) = conv_geometry(x.shape, kernel_size, stride, padding,
                                                                      dilation, "im2col")
    N, C = x.shape[:2]
    padded = _pad_channels_last(x, ph, pw, workspace)  # (N, H + 2ph, W + 2pw, C)
    sN, sH, sW, sC = padded.strides
    # window (h, w), offset (i, j) starts at row h·s + i·d, column w·s + j·d of the padded image.
    # Overlapping windows share memory: this view is only ever read, never written through.
    windows = xp.lib.stride_tricks.as_strided(
        padded, shape=(N, Ho, Wo, kh, kw, C), strides=(sN, sH * sh, sW * sw, sH * dh, sW * dw, sC))
    if workspace is None or (kh, kw, sh, sw, ph, pw) == (1, 1, 1, 1, 0, 0):
        # the reshape copies the overlapping windows into one matrix (a view when 1x1, stride 1)
        return windows.reshape(N * Ho * Wo, kh * kw * C), (Ho, Wo)
    cols = workspace.array("cols", (N * Ho * Wo, kh * kw * C), x)
    xp.copyto(cols.reshape(N, Ho, Wo, kh, kw, C), windows)
    return cols, (Ho, Wo)


def _pad_channels_last(x, ph, pw, workspace):
    """x: (N, C, H, W) -> zero-padded, channels-last (N, H + 2ph, W + 2pw, C); a view without padding."""
    x_nhwc = x.transpose(0, 2, 3, 1)
    if not (ph or pw):
        return x_nhwc
    N, H, W, C = x_nhwc.shape
    shape = (N, H + 2 * ph, W + 2 * pw, C)
    if workspace is None:
        padded = get_array_module(x).zeros(shape, dtype=x.dtype)
    else:  # a reused buffer: only its border needs zeros, the inside is overwritten below
        padded = workspace.array("padded", shape, x)
        padded[:, :ph], padded[:, ph + H:], padded[:, :, :pw], padded[:, :, pw + W:] = 0, 0, 0, 0
    padded[:, ph:ph + H, pw:pw + W, :] = x_nhwc
    return padded
# --8<-- [end:im2col]


# --8<-- [start:col2im]
def add_patch_gradient(dpadded, block, i, j, geo: ConvGeometry):
    """``dpadded[:, rows, cols, :] += block``: the gradient of the column block of kernel
    offset ``(i, j)``, block: (N·Ho·Wo, C), goes back to the pixels that offset read."""
    (sh, sw), (dh, dw), (Ho, Wo) = geo.stride, geo.dilation, geo.out
    rows = slice(i * dh, i * dh + sh * (Ho - 1) + 1, sh)
    cols = slice(j * dw, j * dw + sw * (Wo - 1) + 1, sw)
    dpadded[:, rows, cols, :] += block.reshape(dpadded.shape[0], Ho, Wo, dpadded.shape[3])


def col2im(dcols, x_shape, kernel_size, stride=1, padding=0, dilation=1):
    """Adjoint of :func:`im2col`: add every patch gradient back where it was copied from.

    dcols: (kh·kw, N·Ho·Wo, C), offset-major (block ``i·kw + j`` holds the gradient of the
    columns ``(i, j, :)`` of ``cols``) -> dx: (N, C, H, W) (a channels-last view).
    """
    xp = get_array_module(dcols)
    geo = conv_geometry(x_shape, kernel_size, stride, padding, dilation, "col2im")
    (kh, kw), (ph, pw) = geo.kernel, geo.padding
    N, C, H, W = x_shape
    dpadded = xp.zeros((N, H + 2 * ph, W + 2 * pw, C), dtype=dcols.dtype)
    for i in range(kh):
        for j in range(kw):
            add_patch_gradient(dpadded, dcols[i * kw + j], i, j, geo)
    # cropping the padding drops the gradient of the zeros we added; it is not needed
    return dpadded[:, ph:ph + H, pw:pw + W, :].transpose(0, 3, 1, 2)
# --8<-- [end:col2im]


# ----------------------------------------------------------------------------- the fast pair
class Conv2dCache(NamedTuple):
    """What :func:`conv2d_backward` needs: the input (not its im2col matrix, which is
    recomputed), the weight, whether a bias was given, the geometry and the workspace."""

    x: object
    weight: object
    has_bias: bool
    geometry: ConvGeometry
    groups: int
    workspace: Workspace | None

    @property
    def output_shape(self) -> tuple:
        """``(N, C_out, Ho, Wo)``: the shape the upstream gradient must have."""
        return (self.x.shape[0], self.weight.shape[0]) + tuple(self.geometry.out)


def _check_inputs(x, weight, bias, groups):
    check_shape(x, (None, None, None, None), "x", "conv2d")
    check_shape(weight, (None, None, None, None), "weight", "conv2d")
    if x.dtype.kind != "f" or x.dtype != weight.dtype:
        raise DTypeError(f"conv2d: x must be a floating array of the weight's dtype {weight.dtype}, got {x.dtype}")
    O, Cg = weight.shape[:2]
    if not isinstance(groups, numbers.Integral) or groups < 1 or O % groups:
        raise RangeError(f"conv2d: groups must be an int >= 1 that divides out_channels {O}, got {groups!r}")
    if x.shape[1] != Cg * groups:
        raise ShapeError(f"conv2d: x must have shape (N, {Cg * groups}, H, W) for weight {tuple(weight.shape)} "
                         f"and groups={groups}, got {tuple(x.shape)}")
    if bias is not None:
        check_shape(require_array(bias, "bias", "conv2d"), (O,), "bias", "conv2d")


# --8<-- [start:conv2d]
def conv2d_forward(x, weight, bias=None, *, stride=1, padding=0, dilation=1, groups=1, workspace=None):
    """``y = x ⋆ W + b``. x: (N, C, H, W), weight: (O, C/g, kh, kw), bias: (O,) or None.

    Returns ``y: (N, O, Ho, Wo)`` (channels-last memory) and a :class:`Conv2dCache`.
    ``workspace``: where the padded input and the im2col matrix go (None: fresh arrays).
    """
    _check_inputs(x, weight, bias, groups)
    xp = get_array_module(x)
    O, Cg, kh, kw = weight.shape
    Og = O // groups
    geo = conv_geometry(x.shape, (kh, kw), stride, padding, dilation)
    ys = []
    for g in range(groups):
        xg = x[:, g * Cg:(g + 1) * Cg] if groups > 1 else x
        cols, _ = im2col(xg, geo.kernel, geo.stride, geo.padding, geo.dilation, workspace)
        # Ŵ with the columns in im2col's (i, j, c) order: (Og, kh·kw·Cg)
        w_hat = weight[g * Og:(g + 1) * Og].transpose(0, 2, 3, 1).reshape(Og, kh * kw * Cg)
        ys.append(cols @ w_hat.T)  # (M, Og): the one GEMM
    y2 = ys[0] if groups == 1 else xp.concatenate(ys, axis=1)  # (M, O)
    if bias is not None:
        y2 += bias
    y = y2.reshape((x.shape[0],) + geo.out + (O,)).transpose(0, 3, 1, 2)  # (N, O, Ho, Wo), a view
    return y, Conv2dCache(x, weight, bias is not None, geo, groups, workspace)


def conv2d_backward(dy, cache: Conv2dCache) -> dict:
    """Gradients of :func:`conv2d_forward`. dy: (N, O, Ho, Wo), any memory layout ->
    ``{"x": (N, C, H, W), "weight": (O, C/g, kh, kw), "bias": (O,)}`` (no "bias" without one)."""
    xp = get_array_module(dy)
    x, weight, has_bias, geo, groups, workspace = cache
    O, Cg, kh, kw = weight.shape
    Og = O // groups
    dy2 = dy.transpose(0, 2, 3, 1).reshape(-1, O)  # (M, O), a view if dy is channels-last
    dW = xp.empty_like(weight)
    dxs = []
    for g in range(groups):
        xg = x[:, g * Cg:(g + 1) * Cg] if groups > 1 else x
        cols, _ = im2col(xg, geo.kernel, geo.stride, geo.padding, geo.dilation, workspace)  # again: not cached
        dyg = dy2[:, g * Og:(g + 1) * Og]  # (M, Og)
        # ∂L/∂Ŵ = dYᵀ cols, computed as its transpose colsᵀ dY, (K, Og): multithreaded BLAS
        # splits a product's output by rows, and Og rows are too few to share
        dW_t = cols.T @ dyg
        dW[g * Og:(g + 1) * Og] = dW_t.reshape(kh, kw, Cg, Og).transpose(3, 2, 0, 1)
        dxs.append(_input_gradient(dyg, weight[g * Og:(g + 1) * Og], xg.shape, geo, workspace))
    grads = {"x": dxs[0] if groups == 1 else xp.concatenate(dxs, axis=1), "weight": dW}
    if has_bias:
        grads["bias"] = dy2.sum(axis=0)
    return grads


def _input_gradient(dy2, weight, x_shape, geo: ConvGeometry, workspace):
    """col2im of ``∂L/∂cols = dY·Ŵ``, one offset block ``dY · W[:, :, i, j]: (M, C)`` at a time."""
    xp = get_array_module(dy2)
    N, C, H, W = x_shape
    (kh, kw), (ph, pw) = geo.kernel, geo.padding
    dpadded = xp.zeros((N, H + 2 * ph, W + 2 * pw, C), dtype=dy2.dtype)
    block = workspace.array("dcols", (dy2.shape[0], C), dy2) if workspace is not None else None
    w_offsets = xp.ascontiguousarray(weight.transpose(2, 3, 0, 1))  # (kh, kw, O, C): each block contiguous
    for i in range(kh):
        for j in range(kw):
            add_patch_gradient(dpadded, xp.matmul(dy2, w_offsets[i, j], out=block), i, j, geo)
    return dpadded[:, ph:ph + H, pw:pw + W, :].transpose(0, 3, 1, 2)
# --8<-- [end:conv2d]


# ----------------------------------------------------------------------------- the plain pair
class ConvReferenceCache(NamedTuple):
    """What :func:`conv2d_reference_backward` needs."""

    x_pad: object
    weight: object
    has_bias: bool
    stride: tuple
    padding: tuple


# --8<-- [start:conv2d_reference]
def conv2d_reference_forward(x, weight, bias=None, *, stride=1, padding=0):
    """The textbook formula, one output position at a time (slow: for reading and testing;
    groups 1, dilation 1): output position (h, w), kernel offset (i, j),
    ``y[n, o, h, w] = b[o] + Σ_{c,i,j} weight[o, c, i, j] · x[n, c, h·s + i − p, w·s + j − p]``."""
    xp = get_array_module(x)
    (sh, sw), (ph, pw) = pair(stride, "stride"), pair(padding, "padding")
    O, C, kh, kw = weight.shape
    x_pad = xp.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)))  # x[.., h·s + i − p, ..] = x_pad[.., h·s + i, ..]
    Ho, Wo = (x_pad.shape[2] - kh) // sh + 1, (x_pad.shape[3] - kw) // sw + 1
    y = xp.zeros((x.shape[0], O, Ho, Wo), dtype=x.dtype)
    for h in range(Ho):
        for w in range(Wo):
            patch = x_pad[:, :, h * sh:h * sh + kh, w * sw:w * sw + kw]  # (N, C, kh, kw)
            y[:, :, h, w] = xp.tensordot(patch, weight, axes=([1, 2, 3], [1, 2, 3]))  # Σ over c, i, j
    if bias is not None:
        y += bias[:, None, None]
    return y, ConvReferenceCache(x_pad, weight, bias is not None, (sh, sw), (ph, pw))


def conv2d_reference_backward(dy, cache: ConvReferenceCache) -> dict:
    """Each output position's gradient, sent back along the products it came from:
    ``∂L/∂patch += Σ_o dy[:, o, h, w]·weight[o]`` and ``∂L/∂weight[o] += Σ_n dy[n, o, h, w]·patch[n]``."""
    xp = get_array_module(dy)
    x_pad, weight, has_bias, (sh, sw), (ph, pw) = cache
    kh, kw = weight.shape[2:]
    dx_pad, dW = xp.zeros_like(x_pad), xp.zeros_like(weight)
    for h in range(dy.shape[2]):
        for w in range(dy.shape[3]):
            rows, cols = slice(h * sh, h * sh + kh), slice(w * sw, w * sw + kw)
            dx_pad[:, :, rows, cols] += xp.tensordot(dy[:, :, h, w], weight, axes=(1, 0))  # (N, C, kh, kw)
            dW += xp.tensordot(dy[:, :, h, w], x_pad[:, :, rows, cols], axes=(0, 0))  # (O, C, kh, kw)
    grads = {"x": dx_pad[:, :, ph:x_pad.shape[2] - ph, pw:x_pad.shape[3] - pw], "weight": dW}
    if has_bias:
        grads["bias"] = dy.sum(axis=(0, 2, 3))
    return grads
# --8<-- [end:conv2d_reference]
