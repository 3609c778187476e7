"""2-D convolution as im2col + one GEMM; backward as two GEMMs + col2im.

Shapes (PyTorch's): input ``x: (N, C, H, W)``, weight ``W: (O, C/g, kh, kw)``, bias
``b: (O,)``, output ``y: (N, O, Ho, Wo)`` with, per spatial axis,

    Ho = ⌊(H + 2·p − d·(kh − 1) − 1) / s⌋ + 1          (stride s, padding p, dilation d)

**Forward.** Output pixel ``(n, h, w)`` sees the input patch of the padded image ``x̃``

    y[n, o, h, w] = b[o] + Σ_{c, i, j} W[o, c, i, j] · x̃[n, c, h·s + i·d, w·s + j·d]

Copy every patch into one row of a matrix (*im2col*): row ``m = (n, h, w)``, column
``k = (i, j, c)``, so ``cols: (M, K)`` with ``M = N·Ho·Wo`` and ``K = kh·kw·C``. Lay the
weight out with the same column order, ``Ŵ: (O, K)``. The whole convolution is then one
matrix product, which BLAS runs at near peak speed:

    Y = cols · Ŵᵀ + b          Y: (M, O)  =  (N, Ho, Wo, O)

**Backward.** ``Y`` is an affine map of ``cols``, so (as for ``Linear``)

    ∂L/∂Ŵ    = dYᵀ · cols                  (O, K)      one GEMM
    ∂L/∂b    = Σ_m dY[m, :]                 (O,)
    ∂L/∂cols = dY · Ŵ                       (M, K)      one GEMM

and ``x̃`` element ``x̃[n, c, h·s + i·d, w·s + j·d]`` was copied into ``cols[(n, h, w), (i, j, c)]``
once for every ``(h, w, i, j)`` that reaches it. A copy's adjoint is a sum, so *col2im*
adds every column block back where it came from: for each kernel offset ``(i, j)``,
the block ``∂L/∂cols[:, (i, j, :)]`` is one strided slice of ``∂L/∂x̃``,

    ∂L/∂x̃[:, :, i·d : i·d + s·Ho : s, j·d : j·d + s·Wo : s] += ∂L/∂cols[:, (i, j, :)]

``kh·kw`` vectorised adds, never a loop over pixels. Cropping the padding gives ``∂L/∂x``.

**Memory layout.** The patches are strided *views* of the padded input (no Python loop):
``as_strided`` describes "``Ho·Wo`` windows of ``kh × kw``" by repeating the row and column
strides. We pad into a *channels-last* buffer ``(N, H, W, C)``: then the ``(j, c)`` part of
each patch row is contiguous in memory, so im2col copies long runs, and ``Y: (M, O)`` is
already the output in channels-last order. We return it as the ``(N, O, Ho, Wo)`` array
PyTorch promises, but as a transposed *view* of that buffer (PyTorch calls this
``memory_format=torch.channels_last``): shapes are what the user sees, strides are how
the numbers lie. Elementwise layers keep the layout, and the next convolution reads it
without a transpose. ``∂L/∂cols`` is asked for offset-major, ``(kh·kw, M, C)``, so that
each col2im add reads one contiguous block.

**Groups.** With ``groups = g`` the channels split into ``g`` independent convolutions
(input channels ``C/g`` and output channels ``O/g`` each), which we run one after the
other and concatenate.
"""

from __future__ import annotations

from ..backend import get_array_module

__all__ = [
    "conv2d_output_size",
    "im2col",
    "col2im",
    "conv2d_forward",
    "conv2d_backward",
]


def _pair(v, name: str) -> tuple[int, int]:
    if isinstance(v, (tuple, list)):
        if len(v) != 2:
            raise ValueError(f"{name} must be an int or a pair of ints, got {v!r}")
        a, b = int(v[0]), int(v[1])
    else:
        a = b = int(v)
    return a, b


def conv2d_output_size(H, W, kernel_size, stride=1, padding=0, dilation=1) -> tuple[int, int]:
    """``(Ho, Wo)`` of a convolution or pooling window sliding over an ``H × W`` image."""
    kh, kw = _pair(kernel_size, "kernel_size")
    sh, sw = _pair(stride, "stride")
    ph, pw = _pair(padding, "padding")
    dh, dw = _pair(dilation, "dilation")
    Ho = (H + 2 * ph - dh * (kh - 1) - 1) // sh + 1
    Wo = (W + 2 * pw - dw * (kw - 1) - 1) // sw + 1
    return Ho, Wo


def _check_geometry(x_shape, kernel_size, stride, padding, dilation):
    kh, kw = _pair(kernel_size, "kernel_size")
    sh, sw = _pair(stride, "stride")
    ph, pw = _pair(padding, "padding")
    dh, dw = _pair(dilation, "dilation")
    if min(kh, kw, sh, sw, dh, dw) < 1 or min(ph, pw) < 0:
        raise ValueError(
            f"kernel_size, stride and dilation must be >= 1 and padding >= 0, got kernel_size={(kh, kw)}, "
            f"stride={(sh, sw)}, padding={(ph, pw)}, dilation={(dh, dw)}"
        )
    N, C, H, W = x_shape
    Ho, Wo = conv2d_output_size(H, W, (kh, kw), (sh, sw), (ph, pw), (dh, dw))
    if Ho < 1 or Wo < 1:
        raise ValueError(
            f"input of spatial size {(H, W)} with padding {(ph, pw)} is smaller than the dilated kernel "
            f"{(dh * (kh - 1) + 1, dw * (kw - 1) + 1)}: output size would be {(Ho, Wo)}"
        )
    return (kh, kw), (sh, sw), (ph, pw), (dh, dw), (Ho, Wo)


# --8<-- [start:im2col]
def im2col(x, kernel_size, stride=1, padding=0, dilation=1, out=None):
    """Patches of ``x`` as the rows of a matrix.

    x: (N, C, H, W), any memory layout -> cols: (N·Ho·Wo, kh·kw·C), row ``(n, h, w)``,
    column ``(i, j, c)``: ``cols[(n, h, w), (i, j, c)] = x̃[n, c, h·s + i·d, w·s + j·d]``
    where ``x̃`` is ``x`` zero-padded by ``padding``. Returns ``cols, (Ho, Wo)``.
    ``out``: an (M, K) array to fill instead of allocating one (see ``Conv2d``).
    """
    xp = get_array_module(x)
    (kh, kw), (sh, sw), (ph, pw), (dh, dw), (Ho, Wo) = _check_geometry(
        x.shape, kernel_size, stride, padding, dilation
    )
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
        padded,
        shape=(N, Ho, Wo, kh, kw, C),
        strides=(sN, sH * sh, sW * sw, sH * dh, sW * dw, sC),
    )
    if out is None:
        # the reshape copies the overlapping windows into one matrix (a view when 1x1, stride 1)
        return windows.reshape(N * Ho * Wo, kh * kw * C), (Ho, Wo)
    xp.copyto(out.reshape(N, Ho, Wo, kh, kw, C), windows)
    return out, (Ho, Wo)
# --8<-- [end:im2col]


# --8<-- [start:col2im]
def col2im(dcols, x_shape, kernel_size, stride=1, padding=0, dilation=1):
    """Adjoint of :func:`im2col`: add every patch gradient back where it was copied from.

    dcols: (kh·kw, N·Ho·Wo, C), offset-major (block ``i·kw + j`` holds the gradient of the
    columns ``(i, j, :)`` of ``cols``) -> dx: (N, C, H, W) (a channels-last view).
    Loops over the ``kh·kw`` kernel offsets; each step is one strided, vectorised add.
    """
    xp = get_array_module(dcols)
    (kh, kw), (sh, sw), (ph, pw), (dh, dw), (Ho, Wo) = _check_geometry(
        x_shape, kernel_size, stride, padding, dilation
    )
    N, C, H, W = x_shape
    dpadded = xp.zeros((N, H + 2 * ph, W + 2 * pw, C), dtype=dcols.dtype)
    for i in range(kh):
        for j in range(kw):
            rows = slice(i * dh, i * dh + sh * (Ho - 1) + 1, sh)
            cols_ = slice(j * dw, j * dw + sw * (Wo - 1) + 1, sw)
            dpadded[:, rows, cols_, :] += dcols[i * kw + j].reshape(N, Ho, Wo, C)
    # cropping the padding drops the gradient of the zeros we added; it is not needed
    return dpadded[:, ph:ph + H, pw:pw + W, :].transpose(0, 3, 1, 2)
# --8<-- [end:col2im]


def _check_inputs(x, weight, bias, groups):
    if x.ndim != 4:
        raise ValueError(f"conv2d expected input of shape (N, C, H, W), got {tuple(x.shape)}")
    if weight.ndim != 4:
        raise ValueError(f"conv2d expected weight of shape (O, C/groups, kh, kw), got {tuple(weight.shape)}")
    if x.dtype.kind != "f" or x.dtype != weight.dtype:
        raise TypeError(f"conv2d expected a floating input of the weight's dtype {weight.dtype}, got {x.dtype}")
    O, Cg, _, _ = weight.shape
    if groups < 1 or O % groups or x.shape[1] != Cg * groups:
        raise ValueError(
            f"conv2d with groups={groups} and weight {tuple(weight.shape)} expected input of shape "
            f"(N, {Cg * groups}, H, W) and out_channels divisible by groups, got input {tuple(x.shape)}"
        )
    if bias is not None and tuple(bias.shape) != (O,):
        raise ValueError(f"conv2d expected bias of shape ({O},), got {tuple(bias.shape)}")


# --8<-- [start:conv2d]
def conv2d_forward(x, weight, bias=None, stride=1, padding=0, dilation=1, groups=1, cols_out=None):
    """``y = x ⋆ W + b``. x: (N, C, H, W), weight: (O, C/g, kh, kw), bias: (O,) or None.

    Returns ``y: (N, O, Ho, Wo)`` (channels-last memory) and the cache for
    :func:`conv2d_backward` (the im2col matrix of each group and the input shape).
    ``cols_out``: an (M, kh·kw·C) buffer for im2col to fill (``groups=1`` only).
    """
    _check_inputs(x, weight, bias, groups)
    xp = get_array_module(x)
    N, C, H, W = x.shape
    O, Cg, kh, kw = weight.shape
    Og = O // groups
    ys, cols_per_group = [], []
    for g in range(groups):
        xg = x[:, g * Cg:(g + 1) * Cg] if groups > 1 else x
        cols, (Ho, Wo) = im2col(xg, (kh, kw), stride, padding, dilation, cols_out if groups == 1 else None)
        # Ŵ with the columns in im2col's (i, j, c) order: (Og, kh·kw·Cg)
        w_hat = weight[g * Og:(g + 1) * Og].transpose(0, 2, 3, 1).reshape(Og, kh * kw * Cg)
        ys.append(cols @ w_hat.T)  # (M, Og): the one GEMM
        cols_per_group.append(cols)
    y2 = ys[0] if groups == 1 else xp.concatenate(ys, axis=1)  # (M, O)
    if bias is not None:
        y2 += bias
    y = y2.reshape(N, Ho, Wo, O).transpose(0, 3, 1, 2)  # (N, O, Ho, Wo), a view
    return y, (cols_per_group, x.shape)


def conv2d_backward(dy, cache, weight, stride=1, padding=0, dilation=1, groups=1,
                    need_bias=True, need_input_grad=True, dcols_out=None):
    """Gradients of :func:`conv2d_forward`. dy: (N, O, Ho, Wo), any memory layout.

    Returns ``dx: (N, C, H, W)`` (None unless ``need_input_grad``), ``dW: (O, C/g, kh, kw)``
    and ``db: (O,)`` (None unless ``need_bias``). ``dcols_out``: a (kh·kw, M, C) scratch
    buffer for ∂L/∂cols (``groups=1`` only).
    """
    xp = get_array_module(dy)
    cols_per_group, x_shape = cache
    N, C, H, W = x_shape
    O, Cg, kh, kw = weight.shape
    Og = O // groups
    _, _, Ho, Wo = dy.shape
    dy2 = dy.transpose(0, 2, 3, 1).reshape(N * Ho * Wo, O)  # a view if dy is channels-last
    dW = xp.empty_like(weight)
    dxs = []
    for g, cols in enumerate(cols_per_group):
        dyg = dy2[:, g * Og:(g + 1) * Og]  # (M, Og)
        # ∂L/∂Ŵ = dYᵀ cols, computed as its transpose colsᵀ dY: (K, Og). Same numbers, but
        # multithreaded BLAS splits a product's output by rows, and Og rows are too few to
        # share (measured on 2 threads: 5 GF/s this way round, 48 GF/s the other).
        dW_t = cols.T @ dyg  # (kh·kw·Cg, Og), rows in im2col's (i, j, c) order
        dW[g * Og:(g + 1) * Og] = dW_t.reshape(kh, kw, Cg, Og).transpose(3, 2, 0, 1)
        if need_input_grad:
            # ∂L/∂cols = dY Ŵ, computed offset-major: block (i, j) = dY · W[:, :, i, j]
            w_offsets = weight[g * Og:(g + 1) * Og].transpose(2, 3, 0, 1).reshape(kh * kw, Og, Cg)
            # (kh·kw, M, Cg): kh·kw GEMMs in one call
            dcols = xp.matmul(dyg, w_offsets, out=dcols_out if groups == 1 else None)
            dxs.append(col2im(dcols, (N, Cg, H, W), (kh, kw), stride, padding, dilation))
    dx = None
    if need_input_grad:
        dx = dxs[0] if groups == 1 else xp.concatenate(dxs, axis=1)
    db = dy2.sum(axis=0) if need_bias else None
    return dx, dW, db
# --8<-- [end:conv2d]
