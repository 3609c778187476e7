"""Exercises ``rnn_step_backward`` and ``rnn_bptt_backward``: one Elman RNN step, and
backpropagation through time over a sequence (reference: functional/rnn.py)."""

import numpy as np

from ...functional.rnn import rnn_backward, rnn_forward, rnn_step_reference, rnn_step_reference_backward
from ..spec import Case, Exercise, Mutant

GRADS = ("weight_ih", "weight_hh", "bias_ih", "bias_hh")
STEP_SHAPES = ((3, 4, 3), (2, 3, 5), (1, 2, 2), (3, 5, 4))  # (B, D, H): D ≠ H first, a batch of one
BPTT_SHAPES = ((3, 2, 3, 4), (5, 3, 4, 2), (2, 1, 2, 3), (4, 2, 3, 3))  # (T, B, D, H), T ≥ 2


def _weights(rng, D, H):
    """Weights of scale 0.5, so that the tanh is neither linear nor saturated."""
    return {"weight_ih": 0.5 * rng.standard_normal((H, D)), "weight_hh": 0.5 * rng.standard_normal((H, H)),
            "bias_ih": 0.5 * rng.standard_normal(H), "bias_hh": 0.5 * rng.standard_normal(H)}


def _batch_factor(B):
    return {f"1/B (B = {B}, the batch size)": 1.0 / B} if B > 1 else {}


# ------------------------------------------------------------------------------ one step
def make_step_case(rng, i):
    """The i-th case of ``rnn_step_backward`` (B, D, H of ``STEP_SHAPES``): ``args`` are dh_new
    (B, H), x (B, D), h (B, H), weight_ih (H, D), weight_hh (H, H) and the forward's h_new (B, H)."""
    B, D, H = STEP_SHAPES[i % len(STEP_SHAPES)]
    x, h = rng.standard_normal((B, D)), rng.standard_normal((B, H))
    w = _weights(rng, D, H)
    h_new, _ = rnn_step_reference(x, h, **w)
    args = {"dh_new": rng.standard_normal((B, H)), "x": x, "h": h, "weight_ih": w["weight_ih"],
            "weight_hh": w["weight_hh"], "h_new": h_new}
    return Case(args=args, inputs={"x": x, "h": h, **w}, factors=_batch_factor(B))


def step_reference(case):
    """dx, dh, dW_ih, dW_hh, db_ih, db_hh from ``rnn_step_reference_backward``."""
    _, cache = rnn_step_reference(**case.inputs)
    g = rnn_step_reference_backward(case.args["dh_new"], cache)
    return g["x"], g["h"], g["weight_ih"], g["weight_hh"], g["bias_ih"], g["bias_hh"]


def step_forward(x, h, weight_ih, weight_hh, bias_ih, bias_hh):
    """h' = tanh(x W_ihᵀ + b_ih + h W_hhᵀ + b_hh), (B, H): the step whose finite differences check
    every gradient."""
    return rnn_step_reference(x, h, weight_ih, weight_hh, bias_ih, bias_hh)[0]


def _step(dh_new, x, h, weight_ih, weight_hh, h_new, *, slope=True, transpose=None, mean=False):
    """The step's backward, or one typical mistake in it."""
    dz = dh_new * (1 - h_new * h_new) if slope else dh_new
    dW_ih = x.T @ dz if transpose == "ih" else dz.T @ x
    dW_hh = h.T @ dz if transpose == "hh" else dz.T @ h
    db = dz.mean(axis=0) if mean else dz.sum(axis=0)
    return dz @ weight_ih, dz @ weight_hh, dW_ih, dW_hh, db, db


def step_terms(case):
    """For every output, the part the tanh' factor makes (dz = dh' ⊙ (1 − h'²), not dh'): a
    gradient computed from dz = dh' is told that term is missing."""
    right, no_slope = _step(**case.args), _step(**case.args, slope=False)
    name = "the tanh' factor (dz = dh' ⊙ (1 − h'²), not dh')"
    return {out: {name: r - s} for out, r, s in zip(STEP_OUTPUTS, right, no_slope)}


def step_dw_hh_transposed(dh_new, x, h, weight_ih, weight_hh, h_new):
    """Wrong on purpose: dW_hh = hᵀ dz, (H, H) like the right one, so only the values show it: the
    grader says dW_hh equals the transpose of the right value."""
    return _step(dh_new, x, h, weight_ih, weight_hh, h_new, transpose="hh")


def step_dw_ih_transposed(dh_new, x, h, weight_ih, weight_hh, h_new):
    """Wrong on purpose: dW_ih = xᵀ dz, (D, H) instead of (H, D). The grader says "wrong shape" and
    that it looks transposed."""
    return _step(dh_new, x, h, weight_ih, weight_hh, h_new, transpose="ih")


def step_no_tanh_slope(dh_new, x, h, weight_ih, weight_hh, h_new):
    """Wrong on purpose: dz = dh', the tanh' forgotten. Every output is told "missing term: the
    tanh' factor"."""
    return _step(dh_new, x, h, weight_ih, weight_hh, h_new, slope=False)


def step_bias_averaged(dh_new, x, h, weight_ih, weight_hh, h_new):
    """Wrong on purpose: db = the mean of dz over the batch, not its sum. db_ih and db_hh are told
    "an extra factor 1/B (the batch size)"; a batch of one cannot show it."""
    return _step(dh_new, x, h, weight_ih, weight_hh, h_new, mean=True)


STEP_OUTPUTS = ("dx", "dh", "dW_ih", "dW_hh", "db_ih", "db_hh")
GRAD_OF = {"dW_ih": "weight_ih", "dW_hh": "weight_hh", "db_ih": "bias_ih", "db_hh": "bias_hh"}

RNN_STEP = Exercise(
    name="rnn_step_backward",
    title="RNN step: dx, dh, dW_ih, dW_hh, db",
    chapter="rnn-and-bptt.md",
    outputs=STEP_OUTPUTS,
    make_case=make_step_case,
    reference=step_reference,
    forward=step_forward,
    upstream="dh_new",
    grad_of={"dx": "x", "dh": "h", **GRAD_OF},
    terms=step_terms,
    order=1,
    mutants=(
        Mutant("dW_hh = hᵀ dz (transposed)", step_dw_hh_transposed, ("dW_hh", "transpose")),
        Mutant("dW_ih = xᵀ dz (transposed)", step_dw_ih_transposed, ("dW_ih", "looks transposed")),
        Mutant("dz = dh', the tanh' forgotten", step_no_tanh_slope, ("dx", "dW_hh", "missing term: the tanh'")),
        Mutant("db = mean of dz over the batch", step_bias_averaged, ("db_ih", "extra factor 1/B", "batch size")),
    ),
)


# ------------------------------------------------------------------------------ through time
def make_bptt_case(rng, i):
    """The i-th case of ``rnn_bptt_backward`` (T, B, D, H of ``BPTT_SHAPES``): ``args`` are d_out
    (T, B, H), d_h_n (B, H), x (T, B, D), the forward's states hs (T + 1, B, H), h0 first, and
    weight_ih (H, D), weight_hh (H, H)."""
    T, B, D, H = BPTT_SHAPES[i % len(BPTT_SHAPES)]
    x, h0 = rng.standard_normal((T, B, D)), rng.standard_normal((B, H))
    w = _weights(rng, D, H)
    _, cache = rnn_forward(x, h0, **w)
    args = {"d_out": rng.standard_normal((T, B, H)), "d_h_n": rng.standard_normal((B, H)), "x": x,
            "hs": cache.hs.copy(), "weight_ih": w["weight_ih"], "weight_hh": w["weight_hh"]}
    return Case(args=args, inputs={"x": x, "h0": h0, **w}, factors=_batch_factor(B))


def bptt_reference(case):
    """dx, dh0, dW_ih, dW_hh, db_ih, db_hh from the library's sequence layer, ``rnn_backward``."""
    _, cache = rnn_forward(**case.inputs)
    g = rnn_backward((case.args["d_out"], case.args["d_h_n"]), cache)
    return g["x"], g["h0"], g["weight_ih"], g["weight_hh"], g["bias_ih"], g["bias_hh"]


def bptt_forward(x, h0, weight_ih, weight_hh, bias_ih, bias_hh):
    """(out, h_n): every step's state (T, B, H) and the last one (B, H), the forward whose finite
    differences check every gradient."""
    (out, h_n), _ = rnn_forward(x, h0, weight_ih, weight_hh, bias_ih, bias_hh)
    return out, h_n


def _bptt(d_out, d_h_n, x, hs, weight_ih, weight_hh, *, accumulate=True, slope=True, future=True, final=True):
    """BPTT, or one typical mistake in it: weight gradients overwritten instead of summed over
    time, the tanh' left out, ∂L/∂h_t without what step t + 1 sends back, d_h_n ignored."""
    dx, dW_ih, dW_hh = np.zeros_like(x), np.zeros_like(weight_ih), np.zeros_like(weight_hh)
    db = np.zeros(weight_hh.shape[0])
    dh = d_h_n.copy() if final else np.zeros_like(d_h_n)
    for t in range(x.shape[0] - 1, -1, -1):
        dh = dh + d_out[t] if future else d_out[t] + (d_h_n if final and t == x.shape[0] - 1 else 0)
        dz = dh * (1 - hs[t + 1] ** 2) if slope else dh
        dx[t] = dz @ weight_ih
        keep = 1.0 if accumulate else 0.0
        dW_ih, dW_hh, db = keep * dW_ih + dz.T @ x[t], keep * dW_hh + dz.T @ hs[t], keep * db + dz.sum(axis=0)
        dh = dz @ weight_hh
    return dx, dh, dW_ih, dW_hh, db, db


BPTT_OUTPUTS = ("dx", "dh0", "dW_ih", "dW_hh", "db_ih", "db_hh")
BPTT_TERMS = {
    "accumulate": "the steps after the first (the weights are shared: their gradients add up over time)",
    "slope": "the tanh' factor (dz_t = dh_t ⊙ (1 − h_t²), not dh_t)",
    "future": "the gradient from the future (∂L/∂h_t also gets dz_{t+1} W_hh from step t + 1)",
    "final": "d_h_n (the final state's gradient enters at the last step)",
}


def bptt_terms(case):
    """For every output, the four parts of ``BPTT_TERMS`` (each the right gradient minus the one
    computed without that part), so a BPTT that drops one is told which."""
    right = _bptt(**case.args)
    terms = {out: {} for out in BPTT_OUTPUTS}
    for flag, name in BPTT_TERMS.items():
        for out, r, s in zip(BPTT_OUTPUTS, right, _bptt(**case.args, **{flag: False})):
            terms[out][name] = r - s
    return terms


def bptt_overwrites_weight_grads(d_out, d_h_n, x, hs, weight_ih, weight_hh):
    """Wrong on purpose: the weight and bias gradients overwritten at every step (``=``, not ``+=``),
    so only step 0's remains. They are told "missing term: the steps after the first"; dx, dh0 pass."""
    return _bptt(d_out, d_h_n, x, hs, weight_ih, weight_hh, accumulate=False)


def bptt_no_tanh_slope(d_out, d_h_n, x, hs, weight_ih, weight_hh):
    """Wrong on purpose: dz_t = dh_t, the tanh' forgotten. Every output is told "missing term: the
    tanh' factor"."""
    return _bptt(d_out, d_h_n, x, hs, weight_ih, weight_hh, slope=False)


def bptt_drops_the_future(d_out, d_h_n, x, hs, weight_ih, weight_hh):
    """Wrong on purpose: ∂L/∂h_t = d_out[t] (and d_h_n at the last step), without dz_{t+1} W_hh
    from step t + 1. Every output is told "missing term: the gradient from the future"."""
    return _bptt(d_out, d_h_n, x, hs, weight_ih, weight_hh, future=False)


def bptt_ignores_d_h_n(d_out, d_h_n, x, hs, weight_ih, weight_hh):
    """Wrong on purpose: d_h_n, the final state's gradient, never enters the last step. Every
    output is told "missing term: d_h_n"."""
    return _bptt(d_out, d_h_n, x, hs, weight_ih, weight_hh, final=False)


RNN_BPTT = Exercise(
    name="rnn_bptt_backward",
    title="RNN over a sequence: backpropagation through time",
    chapter="rnn-and-bptt.md",
    outputs=BPTT_OUTPUTS,
    make_case=make_bptt_case,
    reference=bptt_reference,
    forward=bptt_forward,
    upstream=("d_out", "d_h_n"),
    grad_of={"dx": "x", "dh0": "h0", **GRAD_OF},
    steps={"dx": 0},  # time-major: the report says at which steps dx is right
    terms=bptt_terms,
    order=2,
    mutants=(
        Mutant("weight gradients overwritten at every step, not summed over time", bptt_overwrites_weight_grads,
               ("dW_ih", "dW_hh", "db_ih", "missing term: the steps after the first", "add up over time")),
        Mutant("dz_t = dh_t, the tanh' forgotten", bptt_no_tanh_slope,
               ("dx", "missing term: the tanh'", "a part every path goes through")),
        Mutant("∂L/∂h_t without what step t + 1 sends back", bptt_drops_the_future,
               ("dh0", "missing term: the gradient from the future")),
        Mutant("d_h_n ignored", bptt_ignores_d_h_n, ("dh0", "missing term: d_h_n", "d_out alone (d_h_n = 0): all right",
                                                      "a path that only d_h_n takes")),
    ),
)

EXERCISES = [RNN_STEP, RNN_BPTT]
