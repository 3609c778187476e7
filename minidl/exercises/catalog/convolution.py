"""Exercises ``col2im`` (the adjoint of im2col) and ``conv2d_im2col`` (a convolution as
im2col + one GEMM, forward and backward) (reference: functional/conv.py)."""

import numpy as np

from ...functional.conv import col2im as library_col2im
from ...functional.conv import conv2d_backward, conv2d_forward, im2col
from ..spec import Case, Exercise, Mutant

# (N, C, H, W, k, s, p): every window overlaps the next (k > s); a stride 2, no padding, H ≠ W
COL2IM_CASES = ((2, 2, 5, 5, 3, 2, 1), (1, 3, 4, 4, 3, 1, 1), (3, 1, 5, 4, 2, 1, 0), (2, 2, 4, 5, 3, 1, 0))
# (N, C, H, W, O, k, s, p)
CONV_CASES = ((2, 3, 5, 5, 4, 3, 2, 1), (1, 2, 4, 4, 3, 3, 1, 1), (3, 2, 5, 4, 2, 2, 1, 0), (2, 1, 4, 5, 3, 3, 1, 0))


# ------------------------------------------------------------------------------ col2im
def make_col2im_case(rng, i):
    """The i-th case of ``col2im``: x (N, C, H, W) of ``COL2IM_CASES``; ``args`` are dcols
    (N·Ho·Wo, k·k·C), shaped as im2col(x), and x_shape, kernel_size, stride, padding."""
    N, C, H, W, k, s, p = COL2IM_CASES[i % len(COL2IM_CASES)]
    x = rng.standard_normal((N, C, H, W))
    cols, _ = im2col(x, k, s, p)
    args = {"dcols": rng.standard_normal(cols.shape), "x_shape": (N, C, H, W), "kernel_size": k, "stride": s,
            "padding": p}
    return Case(args=args, inputs={"x": x, "kernel_size": k, "stride": s, "padding": p})


def col2im_reference(case):
    """dx (N, C, H, W), a 1-tuple, from the library's ``col2im``, which takes the columns
    offset-major, (k·k, N·Ho·Wo, C): the case's dcols regrouped."""
    a = case.args
    N, C = a["x_shape"][:2]
    k = a["kernel_size"]
    offsets = a["dcols"].reshape(-1, k * k, C).transpose(1, 0, 2)  # the library takes (k·k, M, C)
    return (library_col2im(offsets, a["x_shape"], k, a["stride"], a["padding"]),)


def col2im_forward(x, kernel_size, stride, padding):
    """cols = im2col(x), (N·Ho·Wo, k·k·C): col2im is its adjoint, dx = ∂⟨dcols, cols⟩/∂x, so
    finite differences of this forward check it."""
    return im2col(x, kernel_size, stride, padding)[0]  # col2im is ∂⟨dcols, im2col(x)⟩/∂x


def _col2im(dcols, x_shape, kernel_size, stride, padding, *, add=True, crop="padding", columns="ijc"):
    """col2im, or one typical mistake in it: ``=`` instead of ``+=``, the crop taken from the
    corner, the columns read in another order."""
    N, C, H, W = x_shape
    k, s, p = kernel_size, stride, padding
    Ho, Wo = (H + 2 * p - k) // s + 1, (W + 2 * p - k) // s + 1
    blocks = dcols.reshape(N, Ho, Wo, k, k, C) if columns != "cij" else \
        dcols.reshape(N, Ho, Wo, C, k, k).transpose(0, 1, 2, 4, 5, 3)
    dpad = np.zeros((N, C, H + 2 * p, W + 2 * p))
    for i in range(k):
        for j in range(k):
            block = blocks[:, :, :, j, i, :] if columns == "jic" else blocks[:, :, :, i, j, :]
            window = (slice(None), slice(None), slice(i, i + s * Ho, s), slice(j, j + s * Wo, s))
            dpad[window] = dpad[window] + block.transpose(0, 3, 1, 2) if add else block.transpose(0, 3, 1, 2)
    return dpad[:, :, p:p + H, p:p + W] if crop == "padding" else dpad[:, :, :H, :W]


def col2im_terms(case):
    """The part of dx that only overlapping windows give (added minus assigned): a dx built with
    ``=`` instead of ``+=`` is told "missing term: overlapping windows"."""
    name = "overlapping windows (a pixel read by several windows gets the SUM of their gradients: +=, not =)"
    return {"dx": {name: _col2im(**case.args) - _col2im(**case.args, add=False)}}


def col2im_assigns(dcols, x_shape, kernel_size, stride, padding):
    """Wrong on purpose: each window's block assigned into dx̃ (``=``), not added (``+=``): where
    windows overlap, the last one wins. The grader says "dx: missing term: overlapping windows"."""
    return _col2im(dcols, x_shape, kernel_size, stride, padding, add=False)


def col2im_crops_the_corner(dcols, x_shape, kernel_size, stride, padding):
    """Wrong on purpose: the padding cropped from one corner, dx̃[:, :, :H, :W], not
    dx̃[:, :, p:p + H, p:p + W]. No term fits: "dx: values differ", with the largest error."""
    return _col2im(dcols, x_shape, kernel_size, stride, padding, crop="corner")


def col2im_offsets_swapped(dcols, x_shape, kernel_size, stride, padding):
    """Wrong on purpose: the kernel offsets (i, j) of the columns read as (j, i), a transposed
    kernel window. The grader says "dx: values differ"."""
    return _col2im(dcols, x_shape, kernel_size, stride, padding, columns="jic")


def col2im_channels_first(dcols, x_shape, kernel_size, stride, padding):
    """Wrong on purpose: the columns read in the weight's order (c, i, j), not im2col's (i, j, c).
    The grader says "dx: values differ"."""
    return _col2im(dcols, x_shape, kernel_size, stride, padding, columns="cij")


COL2IM = Exercise(
    name="col2im",
    title="col2im, the adjoint of im2col",
    chapter="convolution-resnet.md",
    outputs=("dx",),
    make_case=make_col2im_case,
    reference=col2im_reference,
    forward=col2im_forward,
    upstream="dcols",
    grad_of={"dx": "x"},
    terms=col2im_terms,
    order=10,
    mutants=(
        Mutant("dx̃[window] = block (assigned, not added)", col2im_assigns,
               ("dx", "missing term: overlapping windows")),
        Mutant("the padding cropped from one corner: dx̃[:, :, :H, :W]", col2im_crops_the_corner,
               ("dx", "values differ", "largest error")),
        Mutant("kernel offsets (i, j) read as (j, i)", col2im_offsets_swapped, ("dx", "values differ")),
        Mutant("columns read as (c, i, j), not (i, j, c)", col2im_channels_first, ("dx", "values differ")),
    ),
)


# ------------------------------------------------------------------------------ conv2d
def make_conv_case(rng, i):
    """The i-th case of ``conv2d_im2col`` (``CONV_CASES``): x (N, C, H, W), weight (O, C, k, k),
    bias (O,), dy (N, O, Ho, Wo), stride, padding."""
    N, C, H, W, O, k, s, p = CONV_CASES[i % len(CONV_CASES)]
    x, weight, bias = rng.standard_normal((N, C, H, W)), rng.standard_normal((O, C, k, k)), rng.standard_normal(O)
    y, _ = conv2d_forward(x, weight, bias, stride=s, padding=p)
    args = {"x": x, "weight": weight, "bias": bias, "dy": rng.standard_normal(y.shape), "stride": s, "padding": p}
    return Case(args=args, inputs={"x": x, "weight": weight, "bias": bias, "stride": s, "padding": p})


def conv_reference(case):
    """y (N, O, Ho, Wo), dx, dW, db from the library's ``conv2d_forward`` and ``conv2d_backward``."""
    a = case.args
    y, cache = conv2d_forward(a["x"], a["weight"], a["bias"], stride=a["stride"], padding=a["padding"])
    g = conv2d_backward(a["dy"], cache)
    return y, g["x"], g["weight"], g["bias"]


def conv_forward(x, weight, bias, stride, padding):
    """y (N, O, Ho, Wo), the library's convolution: the forward whose finite differences check dx, dW, db."""
    return conv2d_forward(x, weight, bias, stride=stride, padding=padding)[0]


def _conv(x, weight, bias, dy, stride, padding, *, with_bias=True, dw="right", db="right", dy_layout="nhwc"):
    """conv2d by im2col, or one typical mistake in it."""
    N, (O, C, k, _) = x.shape[0], weight.shape
    cols, (Ho, Wo) = im2col(x, k, stride, padding)
    w_hat = weight.transpose(0, 2, 3, 1).reshape(O, k * k * C)
    Y = cols @ w_hat.T + (bias if with_bias else 0.0)
    y = Y.reshape(N, Ho, Wo, O).transpose(0, 3, 1, 2)
    dY = dy.transpose(0, 2, 3, 1).reshape(-1, O) if dy_layout == "nhwc" else dy.reshape(-1, O)
    dW_hat = dY.T @ cols
    dW = {"right": dW_hat.reshape(O, k, k, C).transpose(0, 3, 1, 2), "flat": dW_hat,
          "cij": dW_hat.reshape(O, C, k, k)}[dw]
    d_b = dY.sum(axis=0) if db == "right" else dy.sum(axis=0)
    offsets = (dY @ w_hat).reshape(-1, k * k, C).transpose(1, 0, 2)
    return y, library_col2im(offsets, x.shape, k, stride, padding), dW, d_b


def conv_terms(case):
    """y's bias part, b broadcast to (N, O, Ho, Wo): a y without it is told "missing term: the bias"."""
    a = case.args
    O, Ho, Wo = a["dy"].shape[1:]
    return {"y": {"the bias b (added at every output position)": np.broadcast_to(a["bias"][:, None, None],
                                                                                 (a["x"].shape[0], O, Ho, Wo))}}


def conv_no_bias(x, weight, bias, dy, stride, padding):
    """Wrong on purpose: y = cols Ŵᵀ (Ŵ: the weight as (O, k·k·C)) without + b. The grader says
    "y: missing term: the bias"; dx, dW, db pass."""
    return _conv(x, weight, bias, dy, stride, padding, with_bias=False)


def conv_dw_flat(x, weight, bias, dy, stride, padding):
    """Wrong on purpose: dW left in im2col's layout (O, k·k·C). The grader says "dW: wrong shape"
    and, the number of elements being right, suggests a reshape or a transpose."""
    return _conv(x, weight, bias, dy, stride, padding, dw="flat")


def conv_dw_wrong_order(x, weight, bias, dy, stride, padding):
    """Wrong on purpose: dŴ (O, k·k·C) reshaped straight to (O, C, k, k), though its columns are
    (i, j, c): the right shape, the values in the wrong places. The grader says "dW: values differ"."""
    return _conv(x, weight, bias, dy, stride, padding, dw="cij")


def conv_db_batch_only(x, weight, bias, dy, stride, padding):
    """Wrong on purpose: db = dy summed over the batch only, (O, Ho, Wo), not over the positions
    too. The grader says "db: wrong shape"."""
    return _conv(x, weight, bias, dy, stride, padding, db="batch")


def conv_dy_channels_first(x, weight, bias, dy, stride, padding):
    """Wrong on purpose: dy (N, O, Ho, Wo) reshaped to (N·Ho·Wo, O) without moving the channels
    last, so each row mixes channels and positions. y passes; dx, dW, db "values differ"."""
    return _conv(x, weight, bias, dy, stride, padding, dy_layout="nchw")


CONV2D = Exercise(
    name="conv2d_im2col",
    title="conv2d by im2col + GEMM: y, dx, dW, db",
    chapter="convolution-resnet.md",
    outputs=("y", "dx", "dW", "db"),
    make_case=make_conv_case,
    reference=conv_reference,
    forward=conv_forward,
    upstream="dy",
    grad_of={"dx": "x", "dW": "weight", "db": "bias"},
    terms=conv_terms,
    order=20,
    mutants=(
        Mutant("the bias left out of y", conv_no_bias, ("y", "missing term: the bias")),
        Mutant("dW left in im2col's layout (O, k·k·C)", conv_dw_flat,
               ("dW", "wrong shape", "a reshape or a transpose")),
        Mutant("dW reshaped to (O, C, k, k) directly: the columns are (i, j, c)", conv_dw_wrong_order,
               ("dW", "values differ")),
        Mutant("db summed over the batch only", conv_db_batch_only, ("db", "wrong shape")),
        Mutant("dy flattened to (M, O) with the channels still on axis 1", conv_dy_channels_first,
               ("dx", "dW", "db", "values differ")),
    ),
)

EXERCISES = [COL2IM, CONV2D]
