"""Exercise ``lstm_bptt_backward``: an LSTM layer over a sequence, the loop of backpropagation
through time around the textbook step (reference: the library's fused layer,
``functional/lstm.py``'s ``lstm_forward``/``lstm_backward``, another code path)."""

import numpy as np

from ...functional.lstm import lstm_backward, lstm_forward, lstm_step_reference_backward
from ..spec import Blocks, Case, Exercise, Mutant
from ..stubs.lstm_bptt_backward import lstm_sequence_forward  # the stub's forward: one source

SHAPES = ((3, 2, 3, 4), (5, 3, 4, 2), (2, 1, 2, 3), (4, 2, 3, 3))  # (T, B, D, H), T ≥ 2; D ≠ H first
OUTPUTS = ("dx", "dh0", "dc0", "dW_ih", "dW_hh", "db")
GATES = Blocks(0, ("i", "f", "g", "o"))
WEIGHTS = ("weight_ih", "weight_hh", "bias_ih", "bias_hh")


def make_case(rng, i):
    """The i-th case (T, B, D, H of ``SHAPES``): weights of scale 0.5; ``args`` are d_out (T, B, H),
    d_h_n, d_c_n (B, H) and the stub's ``lstm_sequence_forward``'s caches (one per step)."""
    T, B, D, H = SHAPES[i % len(SHAPES)]
    inputs = {"x": rng.standard_normal((T, B, D)), "h0": rng.standard_normal((B, H)),
              "c0": rng.standard_normal((B, H)), "weight_ih": 0.5 * rng.standard_normal((4 * H, D)),
              "weight_hh": 0.5 * rng.standard_normal((4 * H, H)), "bias_ih": 0.5 * rng.standard_normal(4 * H),
              "bias_hh": 0.5 * rng.standard_normal(4 * H)}
    _, caches = lstm_sequence_forward(**inputs)
    args = {"d_out": rng.standard_normal((T, B, H)), "d_h_n": rng.standard_normal((B, H)),
            "d_c_n": rng.standard_normal((B, H)), "caches": caches}
    return Case(args=args, inputs=inputs)


def reference(case):
    """dx, dh0, dc0, dW_ih, dW_hh, db from the library's fused sequence layer, ``lstm_backward``."""
    _, cache = lstm_forward(**case.inputs)
    g = lstm_backward((case.args["d_out"], case.args["d_h_n"], case.args["d_c_n"]), cache)
    return g["x"], g["h0"], g["c0"], g["weight_ih"], g["weight_hh"], g["bias_ih"]


def forward(**inputs):
    """(out (T, B, H), h_n, c_n (B, H)): the forward whose finite differences check every gradient."""
    return lstm_forward(**inputs)[0]


def _bptt(d_out, d_h_n, d_c_n, caches, *, cell=True, future=True, accumulate=True, final_c=True, outputs=True):
    """BPTT, or one typical mistake in it: ∂L/∂c_t without what step t + 1 sends back (the cell
    path cut), ∂L/∂h_t without it, the weight gradients overwritten, d_c_n ignored, d_out[t]
    added at the last step only."""
    dx = [None] * len(caches)
    dW_ih, dW_hh, db = 0.0, 0.0, 0.0
    dh, dc = d_h_n, (d_c_n if final_c else np.zeros_like(d_c_n))
    for t in range(len(caches) - 1, -1, -1):
        g = lstm_step_reference_backward((dh + d_out[t] if outputs or t == len(caches) - 1 else dh, dc), caches[t])
        dx[t] = g["x"]
        keep = 1.0 if accumulate else 0.0
        dW_ih, dW_hh, db = keep * dW_ih + g["weight_ih"], keep * dW_hh + g["weight_hh"], keep * db + g["bias_ih"]
        dh = g["h"] if future or t == 0 else np.zeros_like(g["h"])
        dc = g["c"] if cell or t == 0 else np.zeros_like(g["c"])
    return np.stack(dx), dh, dc, dW_ih, dW_hh, db


TERMS = {"cell": "the cell path (∂L/∂c_t also gets ∂L/∂c_{t+1} ⊙ f_{t+1} from step t + 1)",
         "future": "the gradient from the future (∂L/∂h_t also gets what step t + 1 sends back)",
         "accumulate": "the steps after the first (the weights are shared: their gradients add up over time)",
         "final_c": "d_c_n (the final cell state's gradient enters at the last step)"}


def terms(case):
    """For every output, the parts of ``TERMS`` (each the right gradient minus the one computed
    without that part), so a BPTT that drops one is told which."""
    right = _bptt(**case.args)  # the textbook step's backward leaves its cache as it is
    out = {name: {} for name in OUTPUTS}
    for flag, term in TERMS.items():
        for name, r, s in zip(OUTPUTS, right, _bptt(**case.args, **{flag: False})):
            out[name][term] = r - s
    return out


def cuts_the_cell_path(d_out, d_h_n, d_c_n, caches):
    """Wrong on purpose: ∂L/∂c_{t−1} from step t thrown away (each step starts its dc from zero,
    but the last from d_c_n): the vanilla RNN's BPTT with an LSTM step. "missing term: the cell
    path"; the top step's weights still see d_c_n."""
    return _bptt(d_out, d_h_n, d_c_n, caches, cell=False)


def overwrites_weight_grads(d_out, d_h_n, d_c_n, caches):
    """Wrong on purpose: ``=`` where ``+=`` belongs for the weights: only step 0's share is left.
    "missing term: the steps after the first"; dx, dh0, dc0 pass."""
    return _bptt(d_out, d_h_n, d_c_n, caches, accumulate=False)


def ignores_d_c_n(d_out, d_h_n, d_c_n, caches):
    """Wrong on purpose: d_c_n never enters. "missing term: d_c_n", on the path only d_c_n takes."""
    return _bptt(d_out, d_h_n, d_c_n, caches, final_c=False)


def drops_the_future_h(d_out, d_h_n, d_c_n, caches):
    """Wrong on purpose: ∂L/∂h_t = d_out[t] only, what step t + 1 sends back through h dropped.
    "missing term: the gradient from the future"."""
    return _bptt(d_out, d_h_n, d_c_n, caches, future=False)


def outputs_at_the_last_step_only(d_out, d_h_n, d_c_n, caches):
    """Wrong on purpose: d_out[t] added to ∂L/∂h_t at the last step only, as if out were h_n. No
    declared term fits; the report says dx is right at the last step only."""
    return _bptt(d_out, d_h_n, d_c_n, caches, outputs=False)


EXERCISE = Exercise(
    name="lstm_bptt_backward",
    title="LSTM over a sequence: BPTT with the cell path",
    chapter="lstm.md",
    outputs=OUTPUTS,
    make_case=make_case,
    reference=reference,
    forward=forward,
    upstream=("d_out", "d_h_n", "d_c_n"),
    grad_of={"dx": "x", "dh0": "h0", "dc0": "c0", "dW_ih": "weight_ih", "dW_hh": "weight_hh", "db": "bias_ih"},
    terms=terms,
    blocks={"dW_ih": GATES, "dW_hh": GATES, "db": GATES},
    steps={"dx": 0},  # time-major: the report says at which steps dx is right
    order=200,  # after lstm_step_backward: the loop around the step
    mutants=(
        Mutant("∂L/∂c_{t−1} from step t thrown away", cuts_the_cell_path,
               ("dx", "dc0", "missing term: the cell path")),
        Mutant("weight gradients overwritten at every step", overwrites_weight_grads,
               ("dW_ih", "missing term: the steps after the first")),
        Mutant("d_c_n ignored", ignores_d_c_n,
               ("dc0", "missing term: d_c_n", "a path that only d_c_n takes")),
        Mutant("∂L/∂h_t without what step t + 1 sends back", drops_the_future_h,
               ("dh0", "missing term: the gradient from the future")),
        Mutant("d_out[t] added at the last step only", outputs_at_the_last_step_only,
               ("dx", "by step: right at t = ", "the last step only", "a path that only d_out takes")),
    ),
)
