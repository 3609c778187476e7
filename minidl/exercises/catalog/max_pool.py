"""Exercise ``max_pool_backward``: 2-D max pooling without padding (reference:
functional/pool.py, which loops over the kh·kw kernel offsets instead of the windows)."""

import numpy as np

from ...functional.pool import max_pool2d_backward, max_pool2d_forward
from ..spec import Case, Exercise, Mutant

# (N, C, H, W, kh, kw, s): overlapping windows first (s < k), a non-square window, the usual
# 2×2 / stride 2 (no overlap: the "=" mistake cannot show there), H ≠ W
CASES = ((2, 2, 5, 5, 3, 3, 1), (1, 3, 5, 6, 2, 3, 1), (2, 2, 4, 6, 2, 2, 2), (3, 1, 6, 5, 3, 2, 2))


def make_case(rng, i):
    """The i-th case of ``CASES``: x (N, C, H, W) standard normal (no ties within a window,
    and finite differences of step 1e-6 do not change a window's winner); ``args`` are dy
    (N, C, Ho, Wo), x, kernel_size (kh, kw), stride."""
    N, C, H, W, kh, kw, s = CASES[i % len(CASES)]
    x = rng.standard_normal((N, C, H, W))
    Ho, Wo = (H - kh) // s + 1, (W - kw) // s + 1
    args = {"dy": rng.standard_normal((N, C, Ho, Wo)), "x": x, "kernel_size": (kh, kw), "stride": s}
    return Case(args=args, inputs={"x": x, "kernel_size": (kh, kw), "stride": s},
                factors={f"1/(kh·kw) (kh·kw = {kh * kw}, the window's size)": 1.0 / (kh * kw)})


def reference(case):
    """dx (N, C, H, W), a 1-tuple, from the library's ``max_pool2d_backward``."""
    a = case.args
    _, cache = max_pool2d_forward(a["x"], a["kernel_size"], stride=a["stride"])
    return (max_pool2d_backward(a["dy"], cache)["x"],)


def forward(x, kernel_size, stride):
    """y (N, C, Ho, Wo): the forward whose finite differences check dx."""
    return max_pool2d_forward(x, kernel_size, stride=stride)[0]


def _pool(dy, x, kernel_size, stride, *, add=True, mask=True, scale=1.0):
    """The backward, or one typical mistake: overlapping windows overwrite each other (``=``),
    dy sent to every pixel of the window, or scaled by 1/(kh·kw) as in average pooling."""
    kh, kw = kernel_size
    dx = np.zeros_like(x)
    for h in range(dy.shape[2]):
        for w in range(dy.shape[3]):
            rows, cols = slice(h * stride, h * stride + kh), slice(w * stride, w * stride + kw)
            window = x[:, :, rows, cols]
            winner = window == window.max(axis=(2, 3), keepdims=True) if mask else np.ones_like(window)
            part = scale * winner * dy[:, :, h, w][:, :, None, None]
            if add:
                dx[:, :, rows, cols] += part
            else:
                dx[:, :, rows, cols] = np.where(winner, part, dx[:, :, rows, cols])
    return dx


def terms(case):
    """dx's parts a typical mistake drops: what overlapping windows add (a pixel that wins two
    windows gets both dy's), and the winner mask (right minus dy sent to the whole window)."""
    right = _pool(**case.args)
    return {"dx": {"overlapping windows (a pixel that wins several windows collects every one's dy)":
                   right - _pool(**case.args, add=False),
                   "the winner mask (only each window's maximum gets its dy; the other pixels get 0)":
                   right - _pool(**case.args, mask=False)}}


def overwrites_overlaps(dy, x, kernel_size, stride):
    """Wrong on purpose: ``=`` where ``+=`` belongs, so a pixel that wins two overlapping windows
    keeps the last one's dy. "missing term: overlapping windows"; a stride-2 2×2 case is right."""
    return _pool(dy, x, kernel_size, stride, add=False)


def whole_window(dy, x, kernel_size, stride):
    """Wrong on purpose: dy sent to every pixel of its window (sum pooling's backward). "missing
    term: the winner mask"."""
    return _pool(dy, x, kernel_size, stride, mask=False)


def averaged(dy, x, kernel_size, stride):
    """Wrong on purpose: the winner's dy divided by kh·kw, average pooling's factor. "an extra
    factor 1/(kh·kw)"."""
    kh, kw = kernel_size
    return _pool(dy, x, kernel_size, stride, scale=1.0 / (kh * kw))


EXERCISE = Exercise(
    name="max_pool_backward",
    title="Max pooling: dx to each window's maximum",
    chapter="convolution-resnet.md",
    outputs=("dx",),
    make_case=make_case,
    reference=reference,
    forward=forward,
    upstream="dy",
    grad_of={"dx": "x"},
    terms=terms,
    order=30,  # after conv2d_im2col: the same windows
    mutants=(
        Mutant("overlapping windows overwrite (=, not +=)", overwrites_overlaps,
               ("dx", "missing term: overlapping windows")),
        Mutant("dy sent to the whole window", whole_window, ("dx", "missing term: the winner mask")),
        Mutant("dy / (kh·kw), average pooling's factor", averaged, ("dx", "extra factor 1/(kh·kw)")),
    ),
)
