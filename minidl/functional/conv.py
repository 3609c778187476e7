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
offset block at a time. Both live in a :class:`Workspace` that a network's layers share.

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
import operator
from typing import NamedTuple

from ..backend import get_array_module
from ..checks import check_shape, require_array
from ..errors import DTypeError, RangeError, ShapeError
from .workspace import Workspace

__all__ = [
    "pair", "conv_output_size", "ConvGeometry", "conv_geometry",
    "im2col", "col2im",
    "Conv2dCache", "conv2d_forward", "conv2d_backward",
    "ConvReferenceCache", "conv2d_reference_forward", "conv2d_reference_backward",
]


# ----------------------------------------------------------------------------- geometry
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


# ----------------------------------------------------------------------------- im2col, col2im
# --8<-- [start:im2col]
def im2col(x, kernel_size, stride=1, padding=0, dilation=1, out=None):
    """Patches of ``x`` as the rows of a matrix.

    x: (N, C, H, W), any memory layout -> cols: (N·Ho·Wo, kh·kw·C), row ``(n, h, w)``,
    column ``(i, j, c)``: ``cols[(n, h, w), (i, j, c)] = x̃[n, c, h·s + i·d, w·s + j·d]``
    where ``x̃`` is ``x`` zero-padded by ``padding``. Returns ``cols, (Ho, Wo)``.
    ``out``: an (M, K) array to fill instead of allocating one (a workspace buffer).
    """
    xp = get_array_module(x)
    (kh, kw), (sh, sw), (ph, pw), (dh, dw), (Ho, Wo) = conv_geometry(x.shape, kernel_size, stride, padding,
                                                                      dilation, "im2col")
    N, C, H, W = x.shape
    x_nhwc = x.transpose(0, 2, 3, 1)  # a view; a copy only happens below
    if ph or pw:
        padded = xp.zeros((N, H + 2 * ph, W + 2 * pw, C), dtype=x.dtype)
        padded[:, ph:ph + H, pw:pw + W, :] = x_nhwc
    else:
        padded = x_nhwc
    sN, sH, sW, sC = padded.strides
    # window (h, w), offset (i, j) starts at row h·s + i·d, column w·s + j·d of the padded image.
    # Overlapping windows share memory: this view is only ever read, never written through.
    windows = xp.lib.stride_tricks.as_strided(
        padded, shape=(N, Ho, Wo, kh, kw, C), strides=(sN, sH * sh, sW * sw, sH * dh, sW * dw, sC))
    if out is None:
        # the reshape copies the overlapping windows into one matrix (a view when 1x1, stride 1)
        return windows.reshape(N * Ho * Wo, kh * kw * C), (Ho, Wo)
    xp.copyto(out.reshape(N, Ho, Wo, kh, kw, C), windows)
    return out, (Ho, Wo)
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


def _patches(x, geo: ConvGeometry, workspace):
    """im2col of ``x`` into the workspace's ``"cols"`` buffer (or a fresh array)."""
    N, C = x.shape[:2]
    (kh, kw), (Ho, Wo) = geo.kernel, geo.out
    copies = (geo.kernel, geo.stride, geo.padding) != ((1, 1), (1, 1), (0, 0))  # else a view of x
    out = workspace.array("cols", (N * Ho * Wo, kh * kw * C), x) if workspace is not None and copies else None
    return im2col(x, geo.kernel, geo.stride, geo.padding, geo.dilation, out=out)[0]


# --8<-- [start:conv2d]
def conv2d_forward(x, weight, bias=None, *, stride=1, padding=0, dilation=1, groups=1, workspace=None):
    """``y = x ⋆ W + b``. x: (N, C, H, W), weight: (O, C/g, kh, kw), bias: (O,) or None.

    Returns ``y: (N, O, Ho, Wo)`` (channels-last memory) and a :class:`Conv2dCache`.
    ``workspace``: where the im2col matrix goes (None: a fresh array each call).
    """
    _check_inputs(x, weight, bias, groups)
    xp = get_array_module(x)
    O, Cg, kh, kw = weight.shape
    Og = O // groups
    geo = conv_geometry(x.shape, (kh, kw), stride, padding, dilation)
    ys = []
    for g in range(groups):
        cols = _patches(x[:, g * Cg:(g + 1) * Cg] if groups > 1 else x, geo, workspace)
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
        cols = _patches(xg, geo, workspace)  # recomputed: the cache kept x, not cols
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
    w_offsets = xp.ascontiguousarray(weight.transpose(2, 3, 0, 1))  # (kh, kw, O, C): BLAS wants rows
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
    groups 1, dilation 1): ``y[n, o, i, j] = b[o] + Σ_{c,u,v} w[o, c, u, v] · x[n, c, i·s + u − p, j·s + v − p]``."""
    xp = get_array_module(x)
    (sh, sw), (ph, pw) = pair(stride, "stride"), pair(padding, "padding")
    O, C, kh, kw = weight.shape
    x_pad = xp.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)))  # x[.., i·s + u − p, ..] = x_pad[.., i·s + u, ..]
    Ho, Wo = (x_pad.shape[2] - kh) // sh + 1, (x_pad.shape[3] - kw) // sw + 1
    y = xp.zeros((x.shape[0], O, Ho, Wo), dtype=x.dtype)
    for i in range(Ho):
        for j in range(Wo):
            patch = x_pad[:, :, i * sh:i * sh + kh, j * sw:j * sw + kw]  # (N, C, kh, kw)
            y[:, :, i, j] = xp.tensordot(patch, weight, axes=([1, 2, 3], [1, 2, 3]))  # Σ over c, u, v
    if bias is not None:
        y += bias[:, None, None]
    return y, ConvReferenceCache(x_pad, weight, bias is not None, (sh, sw), (ph, pw))


def conv2d_reference_backward(dy, cache: ConvReferenceCache) -> dict:
    """Each output position's gradient, sent back along the products it came from:
    ``∂L/∂patch += Σ_o dy[:, o, i, j]·w[o]`` and ``∂L/∂w[o] += Σ_n dy[n, o, i, j]·patch[n]``."""
    xp = get_array_module(dy)
    x_pad, weight, has_bias, (sh, sw), (ph, pw) = cache
    kh, kw = weight.shape[2:]
    dx_pad, dW = xp.zeros_like(x_pad), xp.zeros_like(weight)
    for i in range(dy.shape[2]):
        for j in range(dy.shape[3]):
            rows, cols = slice(i * sh, i * sh + kh), slice(j * sw, j * sw + kw)
            dx_pad[:, :, rows, cols] += xp.tensordot(dy[:, :, i, j], weight, axes=(1, 0))  # (N, C, kh, kw)
            dW += xp.tensordot(dy[:, :, i, j], x_pad[:, :, rows, cols], axes=(0, 0))  # (O, C, kh, kw)
    grads = {"x": dx_pad[:, :, ph:x_pad.shape[2] - ph, pw:x_pad.shape[3] - pw], "weight": dW}
    if has_bias:
        grads["bias"] = dy.sum(axis=(0, 2, 3))
    return grads
# --8<-- [end:conv2d_reference]
