"""Exercise ``lstm_step_backward``: one LSTM step, gate blocks i, f, g, o as PyTorch's
(reference: functional/lstm.py, the textbook step)."""

import numpy as np

from ...functional.lstm import lstm_step_reference, lstm_step_reference_backward
from ..spec import Blocks, Case, Exercise, Mutant

SHAPES = ((3, 4, 2), (2, 3, 3), (1, 2, 4), (3, 5, 2))  # (B, D, H): D ≠ H first, a batch of one
OUTPUTS = ("dx", "dh", "dc", "dW_ih", "dW_hh", "db_ih", "db_hh")
GATES = Blocks(0, ("i", "f", "g", "o"))


def make_case(rng, i):
    """The i-th case (B, D, H of ``SHAPES``): ``args`` are dh_new, dc_new (B, H), x (B, D), h, c
    (B, H), weight_ih (4H, D), weight_hh (4H, H), the gate values i, f, g, o and c_new (B, H)."""
    B, D, H = SHAPES[i % len(SHAPES)]
    x, h, c = rng.standard_normal((B, D)), rng.standard_normal((B, H)), rng.standard_normal((B, H))
    w = {"weight_ih": 0.5 * rng.standard_normal((4 * H, D)), "weight_hh": 0.5 * rng.standard_normal((4 * H, H)),
         "bias_ih": 0.5 * rng.standard_normal(4 * H), "bias_hh": 0.5 * rng.standard_normal(4 * H)}
    (_, c_new), cache = lstm_step_reference(x, h, c, **w)
    gi, gf, gg, go = cache[6:10]
    args = {"dh_new": rng.standard_normal((B, H)), "dc_new": rng.standard_normal((B, H)), "x": x, "h": h, "c": c,
            "weight_ih": w["weight_ih"], "weight_hh": w["weight_hh"], "i": gi, "f": gf, "g": gg, "o": go,
            "c_new": c_new}
    return Case(args=args, inputs={"x": x, "h": h, "c": c, **w})


def reference(case):
    """dx, dh, dc, dW_ih, dW_hh, db_ih, db_hh from ``lstm_step_reference_backward``."""
    _, cache = lstm_step_reference(**case.inputs)
    g = lstm_step_reference_backward((case.args["dh_new"], case.args["dc_new"]), cache)
    return g["x"], g["h"], g["c"], g["weight_ih"], g["weight_hh"], g["bias_ih"], g["bias_hh"]


def forward(x, h, c, weight_ih, weight_hh, bias_ih, bias_hh):
    """(h', c'), each (B, H): the step whose finite differences check every gradient."""
    return lstm_step_reference(x, h, c, weight_ih, weight_hh, bias_ih, bias_hh)[0]


def _lstm(dh_new, dc_new, x, h, c, weight_ih, weight_hh, i, f, g, o, c_new, *, forget_of="c", through_h=True,
          tanh_slope=True, o_tanh=True, order="ifgo"):
    """The step's backward, or one typical mistake in it."""
    tc = np.tanh(c_new)
    dc_total = dc_new + (dh_new * o * ((1 - tc * tc) if tanh_slope else 1.0) if through_h else 0.0)
    dz = {"i": dc_total * g * i * (1 - i),
          "f": dc_total * (c_new if forget_of == "c_new" else c) * f * (1 - f),
          "g": dc_total * i * (1 - g * g),
          "o": dh_new * (tc if o_tanh else 1.0) * o * (1 - o)}
    dz = np.concatenate([dz[k] for k in order], axis=1)
    db = dz.sum(axis=0)
    return dz @ weight_ih, dz @ weight_hh, dc_total * f, dz.T @ x, dz.T @ h, db, db


def terms(case):
    """For every output, the part that comes from c' reaching L through h' (dc' gets
    dh' ⊙ o ⊙ (1 − tanh² c') besides dc_new): a gradient without it is told that term is missing."""
    right, alone = _lstm(**case.args), _lstm(**case.args, through_h=False)
    name = "the path of c' through h' (∂L/∂c' also gets dh' ⊙ o ⊙ (1 − tanh² c'))"
    return {out: {name: r - a} for out, r, a in zip(OUTPUTS, right, alone)}


def forget_gate_of_new_cell(dh_new, dc_new, x, h, c, weight_ih, weight_hh, i, f, g, o, c_new):
    """Wrong on purpose: dz_f = dc' ⊙ c' ⊙ f(1 − f), with the new cell c' instead of c. The weight
    and bias gradients name the wrong gate block f (i, g, o right); dx, dh differ, dc passes."""
    return _lstm(dh_new, dc_new, x, h, c, weight_ih, weight_hh, i, f, g, o, c_new, forget_of="c_new")


def no_tanh_slope_on_the_cell(dh_new, dc_new, x, h, c, weight_ih, weight_hh, i, f, g, o, c_new):
    """Wrong on purpose: dc' = dc_new + dh' ⊙ o, the factor 1 − tanh² c' forgotten. Every gate
    fed by dc' is off: the grader names the wrong gate blocks i, f, g (o right); dx, dh, dc differ."""
    return _lstm(dh_new, dc_new, x, h, c, weight_ih, weight_hh, i, f, g, o, c_new, tanh_slope=False)


def output_gate_without_tanh(dh_new, dc_new, x, h, c, weight_ih, weight_hh, i, f, g, o, c_new):
    """Wrong on purpose: dz_o = dh' ⊙ o(1 − o), without the factor tanh(c'). The weight and bias
    gradients name the wrong gate block o (i, f, g right); dx, dh differ, dc passes."""
    return _lstm(dh_new, dc_new, x, h, c, weight_ih, weight_hh, i, f, g, o, c_new, o_tanh=False)


def cell_only_from_above(dh_new, dc_new, x, h, c, weight_ih, weight_hh, i, f, g, o, c_new):
    """Wrong on purpose: dc' = dc_new only, the path of c' through h' dropped. Every output is
    told "missing term: the path of c' through h'"."""
    return _lstm(dh_new, dc_new, x, h, c, weight_ih, weight_hh, i, f, g, o, c_new, through_h=False)


def gates_in_order_ifog(dh_new, dc_new, x, h, c, weight_ih, weight_hh, i, f, g, o, c_new):
    """Wrong on purpose: the gate blocks stacked in the order i, f, o, g, not PyTorch's i, f, g, o.
    The weight and bias gradients name the wrong gate blocks g, o (i, f right); dx, dh differ."""
    return _lstm(dh_new, dc_new, x, h, c, weight_ih, weight_hh, i, f, g, o, c_new, order="ifog")


EXERCISE = Exercise(
    name="lstm_step_backward",
    title="LSTM step: dx, dh, dc and the gate blocks i, f, g, o",
    chapter="lstm.md",
    outputs=OUTPUTS,
    make_case=make_case,
    reference=reference,
    forward=forward,
    upstream=("dh_new", "dc_new"),
    grad_of={"dx": "x", "dh": "h", "dc": "c", "dW_ih": "weight_ih", "dW_hh": "weight_hh", "db_ih": "bias_ih",
             "db_hh": "bias_hh"},
    terms=terms,
    blocks={"dW_ih": GATES, "dW_hh": GATES, "db_ih": GATES, "db_hh": GATES},
    mutants=(
        Mutant("forget gate: dz_f with the new cell c' instead of c", forget_gate_of_new_cell,
               ("dW_ih", "wrong gate blocks: f (", "right: i, g, o", "a part every path goes through")),
        Mutant("∂L/∂c' += dh' ⊙ o, without tanh'(c')", no_tanh_slope_on_the_cell,
               ("dW_hh", "wrong gate blocks: i (", "f (", "g (", "right: o", "dc_new alone (dh_new = 0): all right",
                "a path that only dh_new takes")),
        Mutant("output gate: dz_o = dh' ⊙ o(1 − o), without tanh(c')", output_gate_without_tanh,
               ("db_ih", "wrong gate blocks: o (", "right: i, f, g", "a path that only dh_new takes")),
        Mutant("∂L/∂c' = dc_new only, the path through h' dropped", cell_only_from_above,
               ("dc", "missing term: the path of c' through h'", "a path that only dh_new takes")),
        Mutant("gate blocks in the order i, f, o, g", gates_in_order_ifog,
               ("dW_ih", "wrong gate blocks: g (", "o (", "right: i, f")),
    ),
)
