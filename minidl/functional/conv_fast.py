"""The convolution as :class:`~minidl.nn.Conv2d` runs it: the same sums as the im2col +
GEMM pair of :mod:`minidl.functional.conv`, arranged so that the memory traffic is small.

:func:`~minidl.functional.conv.conv2d_forward` copies the patches of the whole batch into
one matrix ``cols: (N·Ho·Wo, kh·kw·C)``, nine times the input for a 3×3 kernel, and hands
it to BLAS, which copies it once more into its own blocked layout ("packing"). Neither
copy fits in a cache, so each costs a trip to main memory. Four changes, each the same
arithmetic in another order, and each tested equal to that pair in float64:

**A few images at a time.** The patches of a *chunk* of images (about ½ MiB of ``cols``,
see :data:`CHUNK_FLOATS`) are copied and multiplied before the next chunk's: the chunk is
still in the core's cache when BLAS packs it. Rows of ``Y = cols·Ŵᵀ`` are independent, so
the chunks' products are rows of the same ``Y``; the weight gradient
``∂L/∂Ŵᵀ = colsᵀ·dY = Σ_chunks cols_chunkᵀ·dY_chunk`` is a sum over chunks. The scratch
memory shrinks from the whole batch's ``cols`` to one chunk's. But every chunk's product
also reads the whole weight matrix ``Ŵᵀ: (K, O)`` (and the weight gradient's running sum
writes a ``(K, O)`` matrix): ``rows·K`` numbers of patches against ``K·O`` of weights, so a
chunk holds at least ``4·O`` rows (:data:`ROWS_PER_OUTPUT`), and the weights are at most a
quarter of what a chunk moves. A wide layer with small images (ResNet-34's last stage: 16
rows per image, ``K·O`` = 4608 × 512, 9 MiB) then takes its whole batch in one or two
products instead of one per image, which BLAS would spend re-reading the weights.

**The input gradient as a convolution.** For stride 1, ``y[h] = Σ_i W[i]·x̃[h + i·d]``
(one axis, channels left out) with ``x̃[a] = x[a − p]``. Collecting the terms that hold
``x[a]``:

    ∂L/∂x[a] = Σ_i W[i]ᵀ·dy[a + p − i·d] = Σ_i' W[k−1−i']ᵀ·ď[a + i'·d]

with ``ď`` = ``dy`` zero-padded by ``q = d·(k − 1) − p`` on both sides. That is a
convolution of ``dy`` with the flipped kernel, input and output channels swapped: im2col
of ``dy`` and one GEMM with ``kh·kw·O`` inner terms, written straight into ``∂L/∂x``,
instead of ``kh·kw`` products of ``O`` inner terms each added into a padded buffer
(col2im). Strided (and over-padded, ``p > d·(k − 1)``) layers keep col2im.

**1×1 kernels without padding** are a plain GEMM of the input's pixels: ``x[:, :, ::s, ::s]``
as a ``(N·Ho·Wo, C)`` matrix (a view for stride 1 and a channels-last input), no patches.

**One kernel row at a time.** With vertical stride 1 and images of at least
:data:`ROWS_PER_OUTPUT` output rows per output column, the forward and both stride-1
gradients copy only each pixel's ``kw`` horizontal neighbours (three times the input, not
nine) and add ``kh`` products over row-shifted views of that copy, a cache-sized group of
images per call (:mod:`~minidl.functional.conv_rows`). Smaller images keep im2col, whose
chunks put several images in one product.

**Both cores.** With a BLAS that runs on ``t`` threads, the batch is cut into contiguous
pieces of images, a few per thread, and ``t`` threads (:mod:`~minidl.functional.host_threads`)
take the pieces one after the other and run each piece's chunks, BLAS single-threaded inside
each: a multithreaded BLAS would make its threads meet at every one of hundreds of small
products, where these meet once per layer (and a thread held off its core leaves its pieces
to the others). The output rows and ``∂L/∂x`` rows of a piece are its own; the weight
gradient is each piece's partial sum, added in piece order, so the numbers do not depend on
the threads' timing. One BLAS thread (``OPENBLAS_NUM_THREADS=1``) is one piece, the
single-threaded code; so is a layer too small to split
(:data:`~minidl.functional.host_threads.MIN_SHARE`), whose products then also run on one BLAS
thread.

On a GPU the chunks would only add kernel launches: there one chunk is the whole batch.
``groups > 1`` runs :func:`~minidl.functional.conv.conv2d_forward` unchanged.
"""

from __future__ import annotations

from .. import backend
from ..backend import get_array_module
from .conv import Conv2dCache, _check_inputs, _input_gradient, conv2d_backward, conv2d_forward
from .conv_rows import row_shifted_conv, row_shifted_grads
from .geometry import ConvGeometry, conv_geometry
from .host_threads import host_shares, run_shares, sum_in_order
from .workspace import Workspace

__all__ = ["CHUNK_FLOATS", "conv2d_fast_forward", "conv2d_fast_backward"]

#: Numbers per chunk of the patch matrix on the CPU: 2¹⁷ float32 numbers are 512 KiB, which
#: stays in a core's L2 cache (1–2 MiB on current x86 cores) while BLAS packs and multiplies it
#: (2¹⁶ to 2¹⁸ were within a few per cent of each other on ResNet-20's layers, 2¹⁹ slower).
CHUNK_FLOATS = 1 << 17

#: A chunk's fewest rows, per output column of its product: with ``rows ≥ 4·O`` the ``K·O``
#: weights a product reads are at most a quarter of its ``rows·K`` patches. Without it,
#: report E's ResNet-34 (width 64) took 8.6 s a step on one core of the Intel VM, with it
#: 6.3 s (2, 8 and 16 were within 2% of 4); ResNet-20's widths (O ≤ 64) barely notice
#: (``benchmarks/README.md``, "Chunks for wide layers").
ROWS_PER_OUTPUT = 4


def _images_per_chunk(src, rows_per_image: int, width: int, outputs: int) -> int:
    """How many images' patches make one chunk of ``width`` columns, multiplied into ``outputs``
    columns: about :data:`CHUNK_FLOATS` numbers, but at least :data:`ROWS_PER_OUTPUT` rows per
    output column; the whole batch off the CPU (a GPU kernel per chunk would only add launches)."""
    if backend.device_of(src) != "cpu":
        return max(1, src.shape[0])  # 1 for an empty batch: the chunk loop's step must not be 0
    by_cache = CHUNK_FLOATS // max(1, rows_per_image * width)
    by_weight = -(-ROWS_PER_OUTPUT * outputs // max(1, rows_per_image))
    return max(1, min(src.shape[0], max(by_cache, by_weight)))


def _patch_chunks(src, geo: ConvGeometry, workspace: Workspace, outputs: int):
    """Yield ``(n0, n1, cols)`` for consecutive chunks of images of ``src: (N, H, W, C)``
    (any strides): ``cols: ((n1 − n0)·Ho·Wo, kh·kw·C)``, the im2col rows of images n0..n1−1,
    column order ``(i, j, c)``, for products with ``outputs`` columns (:func:`_images_per_chunk`).
    ``cols`` is a workspace buffer, overwritten by the next chunk."""
    xp = get_array_module(src)
    (kh, kw), (sh, sw), (ph, pw), (dh, dw), (Ho, Wo) = geo
    N, H, W, C = src.shape
    nb = _images_per_chunk(src, Ho * Wo, kh * kw * C, outputs)
    if ph or pw:  # one padded chunk buffer: its border is zeroed once, its inside refilled per chunk
        padded = workspace.array("padded", (nb, H + 2 * ph, W + 2 * pw, C), src)
        padded[:, :ph], padded[:, ph + H:], padded[:, :, :pw], padded[:, :, pw + W:] = 0, 0, 0, 0
    else:
        padded = src
    sN, sH, sW, sC = padded.strides
    windows = xp.lib.stride_tricks.as_strided(  # read only: overlapping windows share memory
        padded, shape=(padded.shape[0], Ho, Wo, kh, kw, C), strides=(sN, sH * sh, sW * sw, sH * dh, sW * dw, sC))
    cols = workspace.array("cols", (nb * Ho * Wo, kh * kw * C), src)
    for n0 in range(0, N, nb):
        n = min(nb, N - n0)
        if ph or pw:
            padded[:n, ph:ph + H, pw:pw + W] = src[n0:n0 + n]
            win = windows[:n]
        else:
            win = windows[n0:n0 + n]
        chunk = cols[:n * Ho * Wo]
        xp.copyto(chunk.reshape(n, Ho, Wo, kh, kw, C), win)
        yield n0, n0 + n, chunk


def _pointwise(geo: ConvGeometry) -> bool:
    """A 1×1 kernel without padding: each output pixel reads one input pixel."""
    return geo.kernel == (1, 1) and geo.padding == (0, 0)


def _pixel_rows(x_nhwc, geo: ConvGeometry):
    """The input pixels a 1×1 convolution reads, as a matrix (N·Ho·Wo, C)."""
    (sh, sw), (Ho, Wo) = geo.stride, geo.out
    return x_nhwc[:, :sh * (Ho - 1) + 1:sh, :sw * (Wo - 1) + 1:sw].reshape(-1, x_nhwc.shape[3])


# --8<-- [start:conv2d_fast]
def conv2d_fast_forward(x, weight, bias=None, *, stride=1, padding=0, dilation=1, groups=1, workspace=None):
    """``y = x ⋆ W + b`` as :func:`~minidl.functional.conv.conv2d_forward` (same shapes, the
    same :class:`~minidl.functional.conv.Conv2dCache`), computed a chunk of images at a time."""
    if groups != 1:
        return conv2d_forward(x, weight, bias, stride=stride, padding=padding, dilation=dilation,
                              groups=groups, workspace=workspace)
    _check_inputs(x, weight, bias, groups)
    xp = get_array_module(x)
    O, C, kh, kw = weight.shape
    geo = conv_geometry(x.shape, (kh, kw), stride, padding, dilation)
    (Ho, Wo), N = geo.out, x.shape[0]
    workspace = Workspace() if workspace is None else workspace
    w_t = weight.transpose(2, 3, 1, 0).reshape(kh * kw * C, O)  # Ŵᵀ: (K, O), rows in (i, j, c) order
    x_nhwc = x.transpose(0, 2, 3, 1)
    y2 = xp.empty((N * Ho * Wo, O), dtype=x.dtype)  # (M, O) = (N, Ho, Wo, O): channels-last
    parts = host_shares(N, x, N * Ho * Wo * kh * kw * C)  # the numbers of the patches

    def share(k, slot):  # the output rows of images a..b−1 (piece k, on thread ``slot``)
        a, b = parts.pieces[k]
        out = y2[a * Ho * Wo:b * Ho * Wo]
        if _pointwise(geo):
            xp.matmul(_pixel_rows(x_nhwc[a:b], geo), w_t, out=out)
        elif _row_shifted(geo, x, O):
            src = x_nhwc[a:b]
            row_shifted_conv(src, w_t, geo, workspace.part(slot), out, _row_group(src, geo))
        else:
            for n0, n1, cols in _patch_chunks(x_nhwc[a:b], geo, workspace.part(slot), O):
                xp.matmul(cols, w_t, out=out[n0 * Ho * Wo:n1 * Ho * Wo])
        if bias is not None:
            out += bias
    run_shares(share, parts)
    y = y2.reshape(N, Ho, Wo, O).transpose(0, 3, 1, 2)  # (N, O, Ho, Wo), a view
    return y, Conv2dCache(x, weight, bias is not None, geo, groups, workspace)


def conv2d_fast_backward(dy, cache: Conv2dCache) -> dict:
    """Gradients of :func:`conv2d_fast_forward`, equal to those of
    :func:`~minidl.functional.conv.conv2d_backward`: ``{"x", "weight"}`` and ``"bias"`` if given."""
    if cache.groups != 1:
        return conv2d_backward(dy, cache)
    x, weight, has_bias, geo, _, workspace = cache
    O = weight.shape[0]
    dy_nhwc = dy.transpose(0, 2, 3, 1)
    dy2 = dy_nhwc.reshape(-1, O)  # (M, O): a view when dy is channels-last
    x_nhwc = x.transpose(0, 2, 3, 1)
    if _pointwise(geo):
        dx, dW = _pointwise_grads(x_nhwc, dy2, weight, geo)
    elif _flipped_geometry(x.shape, weight.shape, geo) is not None:
        dx, dW = _stride1_grads(x_nhwc, dy_nhwc, weight, geo, workspace)
    else:
        dx = _strided_input_gradient(dy2, weight, x.shape, geo, workspace)  # col2im
        dW = _weight_grad(x_nhwc, dy2, weight.shape, geo, workspace)
    grads = {"x": dx, "weight": dW}
    if has_bias:
        grads["bias"] = dy2.sum(axis=0)
    return grads


def _row_shifted(geo: ConvGeometry, like, outputs: int) -> bool:
    """Vertical stride 1, a kernel larger than 1×1, on the host, and images of at least
    :data:`ROWS_PER_OUTPUT` output rows per output column: the patches of one kernel row and
    ``kh`` shifted products per image (:mod:`~minidl.functional.conv_rows`). Smaller images
    keep im2col, which puts several in one product (one image's products would be too small
    for BLAS); on a GPU the whole batch is one im2col product, and the copy is not what costs
    there."""
    (Ho, Wo), cpu = geo.out, backend.device_of(like) == "cpu"
    return cpu and geo.stride[0] == 1 and not _pointwise(geo) and Ho * Wo >= ROWS_PER_OUTPUT * outputs


def _row_group(src, geo: ConvGeometry) -> int:
    """Images per call of the row-shifted products: as many as :data:`CHUNK_FLOATS` holds of
    their windows ``R`` (``Hp·Wo`` rows of ``kw·C`` numbers each)."""
    per_image = (src.shape[1] + 2 * geo.padding[0]) * geo.out[1]
    return _images_per_chunk(src, per_image, geo.kernel[1] * src.shape[3], 0)


def _flipped_geometry(x_shape, w_shape, geo: ConvGeometry):
    """The geometry of the input gradient as a convolution of dy (stride 1 and
    ``p ≤ d·(k − 1)`` only, else None): kernel, dilation as the layer's, padding ``q = d·(k − 1) − p``."""
    (kh, kw), (dh, dw), (ph, pw) = (w_shape[2], w_shape[3]), geo.dilation, geo.padding
    qh, qw = dh * (kh - 1) - ph, dw * (kw - 1) - pw
    if geo.stride != (1, 1) or qh < 0 or qw < 0:
        return None
    return ConvGeometry((kh, kw), (1, 1), (qh, qw), (dh, dw), tuple(x_shape[2:]))


def _stride1_grads(x_nhwc, dy_nhwc, weight, geo: ConvGeometry, workspace):
    """Both gradients from one im2col of dy per chunk, ``cols_dy: (rows, kh·kw·O)``:

        ∂L/∂x_chunk = cols_dy · W_flip         W_flip[(i', j', o), c] = W[o, c, kh−1−i', kw−1−j']
        G += x_chunkᵀ · cols_dy                G[c, (i', j', o)] = ∂L/∂W[o, c, kh−1−i', kw−1−j']

    (the second: ``∂L/∂W[o, c, i] = Σ_a x[a, c]·ď[a + (k−1−i)·d, o]``, the same shifted products
    read the other way), so the input's patches are never copied again."""
    xp = get_array_module(dy_nhwc)
    N, H, W, C = x_nhwc.shape
    O, _, kh, kw = weight.shape
    w_flip = weight[:, :, ::-1, ::-1].transpose(2, 3, 0, 1).reshape(kh * kw * O, C)
    dx2 = xp.empty((N * H * W, C), dtype=dy_nhwc.dtype)
    flipped = _flipped_geometry((N, C, H, W), weight.shape, geo)
    parts = host_shares(N, dy_nhwc, N * H * W * kh * kw * O)  # the numbers of dy's patches

    def share(k, slot):  # ∂L/∂x of images a..b−1, and their part of G
        a, b = parts.pieces[k]
        if _row_shifted(flipped, dy_nhwc, C):
            return row_shifted_grads(x_nhwc[a:b], dy_nhwc[a:b], w_flip, flipped, workspace.part(slot),
                                     dx2[a * H * W:b * H * W], _row_group(dy_nhwc, flipped))
        G = xp.zeros((C, kh * kw * O), dtype=dy_nhwc.dtype)
        part = xp.empty_like(G)
        for n0, n1, cols in _patch_chunks(dy_nhwc[a:b], flipped, workspace.part(slot), C):
            xp.matmul(cols, w_flip, out=dx2[(a + n0) * H * W:(a + n1) * H * W])
            G += xp.matmul(x_nhwc[a + n0:a + n1].reshape(-1, C).T, cols, out=part)
        return G
    G = sum_in_order(run_shares(share, parts))
    dW = xp.ascontiguousarray(G.reshape(C, kh, kw, O)[:, ::-1, ::-1].transpose(3, 0, 1, 2))
    return dx2.reshape(N, H, W, C).transpose(0, 3, 1, 2), dW
# --8<-- [end:conv2d_fast]


def _pointwise_grads(x_nhwc, dy2, weight, geo: ConvGeometry):
    """1×1, no padding: ``∂L/∂x[:, ::s, ::s] = dY·W`` (zero elsewhere), ``∂L/∂W = dYᵀ·X_s``."""
    xp = get_array_module(dy2)
    N, H, W, C = x_nhwc.shape
    O = weight.shape[0]
    (sh, sw), (Ho, Wo) = geo.stride, geo.out
    dx = xp.zeros((N, H, W, C), dtype=dy2.dtype) if geo.stride != (1, 1) else xp.empty((N, H, W, C), dy2.dtype)
    parts = host_shares(N, dy2, dy2.size + N * Ho * Wo * C)

    def share(k, slot):  # ∂L/∂x of images a..b−1, and their part of ∂L/∂W
        a, b = parts.pieces[k]
        dy_k = dy2[a * Ho * Wo:b * Ho * Wo]
        dx[a:b, :sh * (Ho - 1) + 1:sh, :sw * (Wo - 1) + 1:sw] = xp.matmul(dy_k, weight.reshape(O, C)).reshape(
            b - a, Ho, Wo, C)
        return xp.matmul(dy_k.T, _pixel_rows(x_nhwc[a:b], geo))
    dW = sum_in_order(run_shares(share, parts)).reshape(weight.shape)
    return dx.transpose(0, 3, 1, 2), dW


def _strided_input_gradient(dy2, weight, x_shape, geo: ConvGeometry, workspace):
    """col2im (:func:`~minidl.functional.conv._input_gradient`), one share of the images per
    thread, each into its own padded buffer and then into its rows of ``∂L/∂x``."""
    N, C, H, W = x_shape
    parts = host_shares(N, dy2, dy2.size * C * geo.kernel[0] * geo.kernel[1])
    if parts.threads == 1:
        return _input_gradient(dy2, weight, x_shape, geo, workspace)
    xp = get_array_module(dy2)
    dx = xp.empty((N, H, W, C), dtype=dy2.dtype)
    Ho, Wo = geo.out

    def share(k, slot):
        a, b = parts.pieces[k]
        part = _input_gradient(dy2[a * Ho * Wo:b * Ho * Wo], weight, (b - a, C, H, W), geo, workspace.part(slot))
        dx[a:b] = part.transpose(0, 2, 3, 1)
    run_shares(share, parts)
    return dx.transpose(0, 3, 1, 2)


def _weight_grad(x_nhwc, dy2, w_shape, geo: ConvGeometry, workspace):
    """``∂L/∂Ŵᵀ = colsᵀ·dY``, (K, O), summed over the chunks; returned as (O, C, kh, kw)."""
    xp = get_array_module(dy2)
    O, C, kh, kw = w_shape
    Ho, Wo = geo.out
    parts = host_shares(x_nhwc.shape[0], dy2, dy2.shape[0] * kh * kw * C)

    def share(k, slot):  # the part of images a..b−1
        a, b = parts.pieces[k]
        dw_t = xp.zeros((kh * kw * C, O), dtype=dy2.dtype)
        part = xp.empty_like(dw_t)
        for n0, n1, cols in _patch_chunks(x_nhwc[a:b], geo, workspace.part(slot), O):
            dw_t += xp.matmul(cols.T, dy2[(a + n0) * Ho * Wo:(a + n1) * Ho * Wo], out=part)
        return dw_t
    dw_t = sum_in_order(run_shares(share, parts))
    return xp.ascontiguousarray(dw_t.reshape(kh, kw, C, O).transpose(3, 2, 0, 1))

