"""Exercise ``basic_block_backward``: the residual BasicBlock with the identity shortcut
(reference: ``minidl.nn.BasicBlock``, the module, against the functional layers' caches)."""

import numpy as np

from ...functional.batchnorm import batch_norm_train_backward, batch_norm_train_forward
from ...functional.conv import conv2d_backward, conv2d_forward
from ...nn.residual import BasicBlock
from ..spec import Case, Exercise, Mutant

SHAPES = ((2, 2, 4, 4), (2, 3, 4, 5), (3, 2, 4, 4), (2, 3, 5, 5))  # (N, C, H, W)
PARAMS = ("conv1_weight", "bn1_weight", "bn1_bias", "conv2_weight", "bn2_weight", "bn2_bias")
OUTPUTS = ("dx",) + tuple(f"d{p}" for p in PARAMS)


def block_forward(x, conv1_weight, bn1_weight, bn1_bias, conv2_weight, bn2_weight, bn2_bias):
    """y = ReLU(BN₂(conv₂(ReLU(BN₁(conv₁(x))))) + x) -> (y, cache): the stub's forward."""
    u1, conv1 = conv2d_forward(x, conv1_weight, padding=1)
    v1, bn1 = batch_norm_train_forward(u1, bn1_weight, bn1_bias)
    u2, conv2 = conv2d_forward(np.maximum(v1, 0), conv2_weight, padding=1)
    f, bn2 = batch_norm_train_forward(u2, bn2_weight, bn2_bias)
    s = f + x
    return np.maximum(s, 0), {"conv1": conv1, "bn1": bn1, "v1": v1, "conv2": conv2, "bn2": bn2, "f": f, "s": s}


def make_case(rng, i):
    """The i-th case: x (N, C, H, W) of ``SHAPES``, two C → C 3×3 convolutions (padding 1) and
    BatchNorm scales near 1; ``args`` are dy (N, C, H, W) and :func:`block_forward`'s cache."""
    N, C, H, W = SHAPES[i % len(SHAPES)]
    params = {"conv1_weight": rng.standard_normal((C, C, 3, 3)) / 3, "bn1_weight": 1 + 0.3 * rng.standard_normal(C),
              "bn1_bias": 0.3 * rng.standard_normal(C), "conv2_weight": rng.standard_normal((C, C, 3, 3)) / 3,
              "bn2_weight": 1 + 0.3 * rng.standard_normal(C), "bn2_bias": 0.3 * rng.standard_normal(C)}
    x = rng.standard_normal((N, C, H, W))
    _, cache = block_forward(x, **params)
    return Case(args={"dy": rng.standard_normal((N, C, H, W)), "cache": cache}, inputs={"x": x, **params})


def reference(case):
    """The module ``minidl.nn.BasicBlock`` with the case's parameters: its backward."""
    C = case.inputs["x"].shape[1]
    block = BasicBlock(C, C).double()
    named = dict(block.named_parameters())
    for p in PARAMS:
        named[p.replace("_", ".")].data[...] = case.inputs[p]
    block(case.inputs["x"])
    dx = block.backward(case.args["dy"])
    return (dx,) + tuple(named[p.replace("_", ".")].grad.copy() for p in PARAMS)


def _block(dy, cache, *, shortcut=1.0, mask_of="s", inner_relu=True):
    """The backward, or one typical mistake: the shortcut's gradient dropped or negated, the
    last ReLU's mask taken from F(x) (before the add), the branch's ReLU forgotten."""
    ds = dy * (cache[mask_of] > 0)
    bn2 = batch_norm_train_backward(ds, cache["bn2"])
    conv2 = conv2d_backward(bn2["x"], cache["conv2"])
    dv1 = conv2["x"] * (cache["v1"] > 0) if inner_relu else conv2["x"]
    bn1 = batch_norm_train_backward(dv1, cache["bn1"])
    conv1 = conv2d_backward(bn1["x"], cache["conv1"])
    return (conv1["x"] + shortcut * ds, conv1["weight"], bn1["weight"], bn1["bias"], conv2["weight"], bn2["weight"],
            bn2["bias"])


def terms(case):
    """dx's two parts: the shortcut (∂L/∂s = dy ⊙ 1[s > 0] reaches x unchanged) and the branch F
    (back through bn2, conv2, ReLU, bn1, conv1); a dx without one is told which is missing."""
    ds = case.args["dy"] * (case.args["cache"]["s"] > 0)
    branch = _block(**case.args, shortcut=0.0)[0]
    return {"dx": {"shortcut (s = F(x) + x: ∂L/∂s reaches x unchanged)": ds,
                   "the branch F (back through bn2, conv2, ReLU, bn1, conv1)": branch}}


def forward(**inputs):
    """y (N, C, H, W) alone, without the cache: the forward whose finite differences check the gradients."""
    return block_forward(**inputs)[0]


def no_shortcut(dy, cache):
    """Wrong on purpose: dx through the branch only, the shortcut's ∂L/∂s dropped. The grader
    says "dx: missing term: shortcut" and passes the six parameter gradients."""
    return _block(dy, cache, shortcut=0.0)


def shortcut_subtracted(dy, cache):
    """Wrong on purpose: dx = branch − ∂L/∂s. The grader says the term shortcut has the wrong
    sign; the parameter gradients pass."""
    return _block(dy, cache, shortcut=-1.0)


def relu_mask_before_the_add(dy, cache):
    """Wrong on purpose: the last ReLU's mask taken from F(x) instead of s = F(x) + x. No named
    term or factor fits: every gradient "values differ", with its largest error shown."""
    return _block(dy, cache, mask_of="f")


def branch_relu_forgotten(dy, cache):
    """Wrong on purpose: the ReLU between bn1 and conv2 skipped in the backward. The gradients
    above it (``dconv2_weight``, ``dbn2_*``) pass; dx, ``dconv1_weight`` and ``dbn1_*`` "values differ"."""
    return _block(dy, cache, inner_relu=False)


EXERCISE = Exercise(
    name="basic_block_backward",
    title="Residual BasicBlock: dx and the six parameter gradients",
    chapter="convolution-resnet.md",
    outputs=OUTPUTS,
    make_case=make_case,
    reference=reference,
    forward=forward,
    upstream="dy",
    grad_of={"dx": "x", **{f"d{p}": p for p in PARAMS}},
    terms=terms,
    order=200,  # after batchnorm_backward: the block is built of convolutions and BatchNorm
    mutants=(
        Mutant("dx through the branch only, the shortcut's gradient dropped", no_shortcut,
               ("dx", "missing term: shortcut", "✓ dconv1_weight")),
        Mutant("dx = branch − shortcut", shortcut_subtracted, ("dx", "the term shortcut", "wrong sign")),
        Mutant("the last ReLU's mask taken from F(x), before the add", relu_mask_before_the_add,
               ("dbn2_bias", "dconv1_weight", "values differ")),
        Mutant("the ReLU inside the branch forgotten", branch_relu_forgotten,
               ("dbn1_weight", "values differ", "✓ dbn2_weight", "✓ dconv2_weight")),
    ),
)
