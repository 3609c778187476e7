"""Exercises ``gru_step_backward`` (reset after the matrix, PyTorch's) and
``gru_step_backward_cho`` (reset before, Cho et al.'s): gate blocks r, z, n
(reference: functional/gru.py, the textbook step)."""

import numpy as np

from ...functional.gru import gru_step_reference, gru_step_reference_backward
from ..spec import Blocks, Case, Exercise, Mutant

SHAPES = ((3, 4, 2), (2, 3, 3), (1, 2, 4), (3, 5, 2))  # (B, D, H): D ≠ H first, a batch of one
OUTPUTS = ("dx", "dh", "dW_ih", "dW_hh", "db_ih", "db_hh")
GATES = Blocks(0, ("r", "z", "n"))
BLOCKS = {"dW_ih": GATES, "dW_hh": GATES, "db_ih": GATES, "db_hh": GATES}
GRAD_OF = {"dx": "x", "dh": "h", "dW_ih": "weight_ih", "dW_hh": "weight_hh", "db_ih": "bias_ih", "db_hh": "bias_hh"}


def _case(rng, i, reset_after):
    B, D, H = SHAPES[i % len(SHAPES)]
    x, h = rng.standard_normal((B, D)), rng.standard_normal((B, H))
    w = {"weight_ih": 0.5 * rng.standard_normal((3 * H, D)), "weight_hh": 0.5 * rng.standard_normal((3 * H, H)),
         "bias_ih": 0.5 * rng.standard_normal(3 * H), "bias_hh": 0.5 * rng.standard_normal(3 * H)}
    _, cache = gru_step_reference(x, h, **w, reset_after=reset_after)
    r, z, n, g_hat = cache[6:10]
    args = {"dh_new": rng.standard_normal((B, H)), "x": x, "h": h, "weight_ih": w["weight_ih"],
            "weight_hh": w["weight_hh"], "r": r, "z": z, "n": n}
    if reset_after:
        args["g_hat"] = g_hat
    return Case(args=args, inputs={"x": x, "h": h, **w})


def _reference(case, reset_after):
    _, cache = gru_step_reference(**case.inputs, reset_after=reset_after)
    g = gru_step_reference_backward(case.args["dh_new"], cache)
    return g["x"], g["h"], g["weight_ih"], g["weight_hh"], g["bias_ih"], g["bias_hh"]


def _gru(dh_new, x, h, weight_ih, weight_hh, r, z, n, g_hat=None, *, form, n_weight="1 - z", z_sign=1.0,
         r_in_n=True, direct=True, through_rh=True, rh_in_dw=True):
    """Either form's backward (``form``: "after" or "before"), or one typical mistake in it;
    the "after" formulas without ``g_hat`` use ĝ = h W_hnᵀ (the mistake of mixing forms)."""
    H = h.shape[1]
    W_rz, W_hn = weight_hh[: 2 * H], weight_hh[2 * H:]
    dz_n = dh_new * ((1 - z) if n_weight == "1 - z" else z) * (1 - n * n)
    dz_z = z_sign * dh_new * (h - n) * z * (1 - z)
    dh = dh_new * z if direct else 0.0
    if form == "after":
        g = h @ W_hn.T if g_hat is None else g_hat
        dz_r = dz_n * g * r * (1 - r)
        d_hid = np.concatenate([dz_r, dz_z, dz_n * r if r_in_n else dz_n], axis=1)
        dh, dW_hh, db_hh = dh + d_hid @ weight_hh, d_hid.T @ h, d_hid.sum(axis=0)
    else:
        d_rh = dz_n @ W_hn
        dz_r = d_rh * h * r * (1 - r)
        dh = dh + (d_rh * r if through_rh else 0.0) + np.concatenate([dz_r, dz_z], axis=1) @ W_rz
        dW_hh = np.concatenate([dz_r.T @ h, dz_z.T @ h, dz_n.T @ (r * h if rh_in_dw else h)], axis=0)
        db_hh = np.concatenate([dz_r, dz_z, dz_n], axis=1).sum(axis=0)
    d_in = np.concatenate([dz_r, dz_z, dz_n], axis=1)
    return d_in @ weight_ih, dh, d_in.T @ x, dW_hh, d_in.sum(axis=0), db_hh


def _terms(case, form):
    """dh's paths: directly (z ⊙ h), and (reset before) through r ⊙ h inside n."""
    right = _gru(**case.args, form=form)[1]
    terms = {"the direct path (h' = … + z ⊙ h: dh' ⊙ z)": right - _gru(**case.args, form=form, direct=False)[1]}
    if form == "before":
        name = "the path through r ⊙ h inside n (∂L/∂(r ⊙ h) ⊙ r)"
        terms[name] = right - _gru(**case.args, form=form, through_rh=False)[1]
    return {"dh": terms}


# ------------------------------------------------------------------ reset after (PyTorch)
def after_z_swapped_in_n(dh_new, x, h, weight_ih, weight_hh, r, z, n, g_hat):
    """Wrong on purpose: dz_n = dh' ⊙ z ⊙ (1 − n²), but n enters h' = (1 − z) ⊙ n + z ⊙ h with 1 − z.
    The weight and bias gradients name the wrong gate blocks r, n (dz_r is made from dz_n; z right)."""
    return _gru(dh_new, x, h, weight_ih, weight_hh, r, z, n, g_hat, form="after", n_weight="z")


def after_no_r_in_n_path(dh_new, x, h, weight_ih, weight_hh, r, z, n, g_hat):
    """Wrong on purpose: the hidden side of n gets dĝ = dz_n, not dz_n ⊙ r (ĝ = h W_hnᵀ + b_hn). dW_hh
    and db_hh name the wrong gate block n (r, z right); dh differs; dx, dW_ih, db_ih pass."""
    return _gru(dh_new, x, h, weight_ih, weight_hh, r, z, n, g_hat, form="after", r_in_n=False)


def after_with_cho_formulas(dh_new, x, h, weight_ih, weight_hh, r, z, n, g_hat):
    """Wrong on purpose: the reset-before form's backward applied to this reset-after step. The
    input side names the wrong gate block r (z, n right), the hidden side r and n; dx, dh differ."""
    return _gru(dh_new, x, h, weight_ih, weight_hh, r, z, n, g_hat, form="before")


def after_no_direct_path(dh_new, x, h, weight_ih, weight_hh, r, z, n, g_hat):
    """Wrong on purpose: dh without the direct path dh' ⊙ z (from h' = … + z ⊙ h). dh is told
    "missing term: the direct path"; the other five pass."""
    return _gru(dh_new, x, h, weight_ih, weight_hh, r, z, n, g_hat, form="after", direct=False)


def after_z_sign(dh_new, x, h, weight_ih, weight_hh, r, z, n, g_hat):
    """Wrong on purpose: dz_z with n − h instead of h − n. The weight and bias gradients name the
    gate block z as sign flipped (r, n right); dx, dh differ."""
    return _gru(dh_new, x, h, weight_ih, weight_hh, r, z, n, g_hat, form="after", z_sign=-1.0)


GRU_AFTER = Exercise(
    name="gru_step_backward",
    title="GRU step, PyTorch's form (reset after): gate blocks r, z, n",
    chapter="gru.md",
    outputs=OUTPUTS,
    make_case=lambda rng, i: _case(rng, i, True),
    reference=lambda case: _reference(case, True),
    forward=lambda **inputs: gru_step_reference(**inputs, reset_after=True)[0],
    upstream="dh_new",
    grad_of=GRAD_OF,
    terms=lambda case: _terms(case, "after"),
    order=1,
    blocks=BLOCKS,
    mutants=(
        Mutant("z and 1 − z swapped in the n path: dz_n = dh' ⊙ z ⊙ (1 − n²)", after_z_swapped_in_n,
               ("dW_ih", "wrong gate blocks: r (", "n (", "right: z")),
        Mutant("r left out of the n path: dĝ = dz_n, not dz_n ⊙ r", after_no_r_in_n_path,
               ("dW_hh", "wrong gate blocks: n (", "right: r, z")),
        Mutant("the other form's formulas (reset before the matrix)", after_with_cho_formulas,
               ("dW_ih", "wrong gate blocks: r (", "right: z, n")),
        Mutant("dh without the direct path dh' ⊙ z", after_no_direct_path, ("dh", "missing term: the direct path")),
        Mutant("dz_z with n − h instead of h − n", after_z_sign, ("db_ih", "wrong gate blocks: z (sign flipped")),
    ),
)


# ------------------------------------------------------------------ reset before (Cho et al.)
def cho_z_swapped_in_n(dh_new, x, h, weight_ih, weight_hh, r, z, n):
    """Wrong on purpose: dz_n = dh' ⊙ z ⊙ (1 − n²), but n enters h' = (1 − z) ⊙ n + z ⊙ h with 1 − z.
    The weight and bias gradients name the wrong gate blocks r, n (dz_r is made from dz_n; z right)."""
    return _gru(dh_new, x, h, weight_ih, weight_hh, r, z, n, form="before", n_weight="z")


def cho_dw_hn_of_h(dh_new, x, h, weight_ih, weight_hh, r, z, n):
    """Wrong on purpose: dW_hn = dz_nᵀ h, but this form multiplies W_hn by r ⊙ h: dz_nᵀ (r ⊙ h).
    dW_hh names the wrong gate block n (r, z right); the other five pass."""
    return _gru(dh_new, x, h, weight_ih, weight_hh, r, z, n, form="before", rh_in_dw=False)


def cho_with_pytorch_formulas(dh_new, x, h, weight_ih, weight_hh, r, z, n):
    """Wrong on purpose: the reset-after form's backward applied to this reset-before step (with
    ĝ = h W_hnᵀ). The input side names the wrong gate block r (z, n right), the hidden side r and n;
    dx, dh differ."""
    return _gru(dh_new, x, h, weight_ih, weight_hh, r, z, n, form="after")


def cho_no_path_through_rh(dh_new, x, h, weight_ih, weight_hh, r, z, n):
    """Wrong on purpose: dh without the path through r ⊙ h inside n, ∂L/∂(r ⊙ h) ⊙ r. dh is told
    "missing term: the path through r ⊙ h"; the other five pass."""
    return _gru(dh_new, x, h, weight_ih, weight_hh, r, z, n, form="before", through_rh=False)


def cho_no_direct_path(dh_new, x, h, weight_ih, weight_hh, r, z, n):
    """Wrong on purpose: dh without the direct path dh' ⊙ z (from h' = … + z ⊙ h). dh is told
    "missing term: the direct path"; the other five pass."""
    return _gru(dh_new, x, h, weight_ih, weight_hh, r, z, n, form="before", direct=False)


GRU_BEFORE = Exercise(
    name="gru_step_backward_cho",
    title="GRU step, Cho et al.'s form (reset before): gate blocks r, z, n",
    chapter="gru.md",
    outputs=OUTPUTS,
    make_case=lambda rng, i: _case(rng, i, False),
    reference=lambda case: _reference(case, False),
    forward=lambda **inputs: gru_step_reference(**inputs, reset_after=False)[0],
    upstream="dh_new",
    grad_of=GRAD_OF,
    terms=lambda case: _terms(case, "before"),
    order=2,
    blocks=BLOCKS,
    mutants=(
        Mutant("z and 1 − z swapped in the n path: dz_n = dh' ⊙ z ⊙ (1 − n²)", cho_z_swapped_in_n,
               ("dW_ih", "wrong gate blocks: r (", "n (", "right: z")),
        Mutant("dW_hn = dz_nᵀ h, not dz_nᵀ (r ⊙ h)", cho_dw_hn_of_h,
               ("dW_hh", "wrong gate blocks: n (", "right: r, z")),
        Mutant("the other form's formulas (reset after the matrix)", cho_with_pytorch_formulas,
               ("dW_ih", "wrong gate blocks: r (", "right: z, n")),
        Mutant("dh without the path through r ⊙ h", cho_no_path_through_rh,
               ("dh", "missing term: the path through r ⊙ h")),
        Mutant("dh without the direct path dh' ⊙ z", cho_no_direct_path, ("dh", "missing term: the direct path")),
    ),
)

EXERCISES = [GRU_AFTER, GRU_BEFORE]
