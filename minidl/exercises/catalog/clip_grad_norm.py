"""Exercise ``clip_grad_norm``: clipping by global norm (reference: ``minidl.optim.clip_grad_norm_``
on three parameters). Not a gradient: no finite differences, the reference decides."""

import numpy as np

from ...module import Parameter
from ...optim import clip_grad_norm_
from ..spec import Case, Exercise, Mutant

# (H, D, how far over the threshold the global norm is): over, under (no clipping), far over
SHAPES = ((3, 4, 2.5), (2, 3, 0.6), (4, 2, 8.0), (3, 3, 1.7))
OUTPUTS = ("grad_w", "grad_b", "grad_u", "norm")


def make_case(rng, i):
    """The i-th case: three gradients of unequal sizes (so that clipping each on its own gives
    each another factor) and max_norm = their global norm / ``over``."""
    H, D, over = SHAPES[i % len(SHAPES)]
    grads = {"grad_w": rng.standard_normal((H, D)), "grad_b": 3.0 * rng.standard_normal(H),
             "grad_u": 0.3 * rng.standard_normal((H, H))}
    norm = float(np.sqrt(sum(np.sum(g * g) for g in grads.values())))
    max_norm = norm / over
    if norm > max_norm:
        factors = {f"max_norm/‖g‖ (= {max_norm / norm:.3g}, the clipping factor)": max_norm / (norm + 1e-6)}
    else:  # a student who scales anyway multiplies by this
        factors = {f"max_norm/‖g‖ (= {max_norm / norm:.3g} > 1: ‖g‖ is under max_norm, nothing to clip)":
                   max_norm / (norm + 1e-6)}
    return Case(args={**grads, "max_norm": max_norm}, factors=factors)


def reference(case):
    """The library's ``clip_grad_norm_`` on three parameters holding the gradients."""
    params = []
    for name in OUTPUTS[:3]:
        p = Parameter(np.zeros_like(case.args[name]))
        p.grad = case.args[name].copy()
        params.append(p)
    norm = clip_grad_norm_(params, case.args["max_norm"])
    return tuple(p.grad for p in params) + (np.float64(norm),)


def _clip(grad_w, grad_b, grad_u, max_norm, *, per_tensor=False, always=False, squared=False, after=False):
    """Clipping, or one typical mistake: each tensor clipped to its own norm, the factor applied
    even under the threshold, the norm without its square root, the norm returned after clipping."""
    grads = (grad_w, grad_b, grad_u)
    total = sum(np.sum(g * g) for g in grads)
    norm = total if squared else np.sqrt(total)
    if per_tensor:
        out = []
        for g in grads:
            n = np.sqrt(np.sum(g * g))
            out.append(g * (max_norm / (n + 1e-6) if n > max_norm else 1.0))
        clipped = tuple(out)
    else:
        scale = max_norm / (norm + 1e-6) if (always or norm > max_norm) else 1.0
        clipped = tuple(g * scale for g in grads)
    if after:
        norm = np.sqrt(sum(np.sum(g * g) for g in clipped))
    return clipped + (norm,)


def per_tensor(grad_w, grad_b, grad_u, max_norm):
    """Wrong on purpose: each gradient clipped to its own norm. Each is off by its own factor,
    and some tensors under the threshold not at all."""
    return _clip(grad_w, grad_b, grad_u, max_norm, per_tensor=True)


def always_scaled(grad_w, grad_b, grad_u, max_norm):
    """Wrong on purpose: the factor max_norm/‖g‖ applied even when ‖g‖ is under the threshold: the
    case under it is stretched ("an extra factor max_norm/‖g‖ (= 1.67 > 1 …)")."""
    return _clip(grad_w, grad_b, grad_u, max_norm, always=True)


def norm_after_clipping(grad_w, grad_b, grad_u, max_norm):
    """Wrong on purpose: the norm returned after clipping (≈ max_norm): "an extra factor
    max_norm/‖g‖"; the gradients pass."""
    return _clip(grad_w, grad_b, grad_u, max_norm, after=True)


def squared_norm(grad_w, grad_b, grad_u, max_norm):
    """Wrong on purpose: ‖g‖² where ‖g‖ belongs, for the test and for the factor."""
    return _clip(grad_w, grad_b, grad_u, max_norm, squared=True)


EXERCISE = Exercise(
    name="clip_grad_norm",
    title="Gradient clipping by global norm",
    chapter="optimizers.md",
    outputs=OUTPUTS,
    make_case=make_case,
    reference=reference,
    order=200,  # after adam_step: clipping is applied to the gradients before the step
    mutants=(
        Mutant("each gradient clipped to its own norm", per_tensor, ("grad_b", "off by a factor")),
        Mutant("the factor applied under the threshold too", always_scaled,
               ("grad_w", "an extra factor max_norm/‖g‖", "nothing to clip", "case 2")),
        Mutant("the norm returned after clipping", norm_after_clipping,
               ("norm", "an extra factor max_norm/‖g‖", "✓ grad_w")),
        Mutant("‖g‖² for ‖g‖", squared_norm, ("norm", "grad_u")),
    ),
)
