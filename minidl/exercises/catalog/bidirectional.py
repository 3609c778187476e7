"""Exercise ``bidirectional_backward``: one bidirectional LSTM layer on padded sequences
(reference: ``minidl.nn.LSTM(bidirectional=True)``, the module, run with ``lengths``)."""

import copy

import numpy as np

from ...functional.lstm import lstm_backward
from ...nn.recurrent import LSTM
from ..spec import Blocks, Case, Exercise, Mutant
from ..stubs.bidirectional_backward import bidirectional_forward, reverse_within_lengths

# (T, B, D, H, lengths): every case mixes full-length sequences with shorter ones (a plain flip
# is right for the first and wrong for the others); D ≠ H first
CASES = ((4, 3, 3, 2, (4, 2, 3)), (5, 4, 2, 3, (5, 1, 5, 3)), (3, 2, 2, 2, (2, 3)), (4, 3, 3, 3, (3, 4, 1)))
WEIGHTS = ("weight_ih", "weight_hh", "bias_ih", "bias_hh")
OUTPUTS = ("dx", "dW_ih_f", "dW_hh_f", "db_f", "dW_ih_r", "dW_hh_r", "db_r")
GATES = Blocks(0, ("i", "f", "g", "o"))


def _weights(inputs, suffix):
    return {w: inputs[f"{w}_{suffix}"] for w in WEIGHTS}


def make_case(rng, i):
    """The i-th case of ``CASES``: weights of scale 0.5 per direction; ``args`` are d_out (T, B, 2H),
    random at padded steps too (their gradient goes nowhere), lengths and the stub forward's caches."""
    T, B, D, H, lengths = CASES[i % len(CASES)]
    inputs = {"x": rng.standard_normal((T, B, D)), "lengths": np.array(lengths)}
    for d in ("f", "r"):
        inputs.update({f"weight_ih_{d}": 0.5 * rng.standard_normal((4 * H, D)),
                       f"weight_hh_{d}": 0.5 * rng.standard_normal((4 * H, H)),
                       f"bias_ih_{d}": 0.5 * rng.standard_normal(4 * H),
                       f"bias_hh_{d}": 0.5 * rng.standard_normal(4 * H)})
    _, caches = bidirectional_forward(inputs["x"], inputs["lengths"], _weights(inputs, "f"), _weights(inputs, "r"))
    args = {"d_out": rng.standard_normal((T, B, 2 * H)), "lengths": inputs["lengths"].copy(), "caches": caches}
    return Case(args=args, inputs=inputs)


def reference(case):
    """The module ``nn.LSTM(D, H, bidirectional=True)`` with the case's weights and lengths: its backward."""
    x, lengths = case.inputs["x"], case.inputs["lengths"]
    layer = LSTM(x.shape[2], case.inputs["weight_hh_f"].shape[1], bidirectional=True).double()
    named = dict(layer.named_parameters())
    for d, suffix in (("f", ""), ("r", "_reverse")):
        for w in WEIGHTS:
            named[f"{w}_l0{suffix}"].data[...] = case.inputs[f"{w}_{d}"]
    layer(x, lengths=[int(n) for n in lengths])
    dx = layer.backward(case.args["d_out"])[0]
    return (dx,) + tuple(named[f"{w}_l0{s}"].grad.copy() for s in ("", "_reverse") for w in WEIGHTS[:3])


def forward(x, lengths, **weights):
    """out (T, B, 2H): the forward whose finite differences check every gradient."""
    return bidirectional_forward(x, lengths, _weights(weights, "f"), _weights(weights, "r"))[0]


def _bidirectional(d_out, lengths, caches, *, back_in_time=True, reverse=True, rev=reverse_within_lengths,
                   swap=False):
    """The backward, or one typical mistake: the reverse layer's dx left in reversed time, its part
    of dx left out, rev done by a plain flip of the whole time axis, d_out's halves swapped.
    ``lstm_backward`` writes over the caches; the grader hands every call its own copy."""
    H = d_out.shape[2] // 2
    first, second = (d_out[..., H:], d_out[..., :H]) if swap else (d_out[..., :H], d_out[..., H:])
    g_f = lstm_backward((first, None, None), caches[0])
    g_r = lstm_backward((rev(second, lengths), None, None), caches[1])
    dx = g_f["x"] + ((rev(g_r["x"], lengths) if back_in_time else g_r["x"]) if reverse else 0.0)
    return dx, g_f["weight_ih"], g_f["weight_hh"], g_f["bias_ih"], g_r["weight_ih"], g_r["weight_hh"], g_r["bias_ih"]


def _copied(case, **mistake):
    """:func:`_bidirectional` on a copy of the case's caches (``lstm_backward`` writes over them)."""
    return _bidirectional(case.args["d_out"], case.args["lengths"], copy.deepcopy(case.args["caches"]), **mistake)


def terms(case):
    """dx's two parts: the forward layer's input gradient, and the reverse layer's, put back in
    time order; a dx without one is told which, and one with the reverse part left in reversed
    time is told that rev is missing there."""
    right = _copied(case)[0]
    only_forward = _copied(case, reverse=False)[0]
    unreversed = _copied(case, back_in_time=False)[0]
    return {"dx": {"the forward direction's part (LSTM_f's input gradient)": only_forward,
                   "the reverse direction's part (rev of LSTM_r's input gradient)": right - only_forward,
                   "rev on LSTM_r's input gradient (it comes out in reversed time)": right - unreversed}}


def left_in_reversed_time(d_out, lengths, caches):
    """Wrong on purpose: the reverse layer's input gradient added as it comes, in reversed time.
    "missing term: rev on LSTM_r's input gradient"; the weights pass."""
    return _bidirectional(d_out, lengths, caches, back_in_time=False)


def forward_direction_only(d_out, lengths, caches):
    """Wrong on purpose: dx from the forward layer only. "missing term: the reverse direction's part"."""
    return _bidirectional(d_out, lengths, caches, reverse=False)


def flips_the_whole_axis(d_out, lengths, caches):
    """Wrong on purpose: rev as a plain flip of the time axis, a[::-1], which reads the padding
    first: right for the full-length sequences, wrong for the shorter ones ("by sequence")."""
    return _bidirectional(d_out, lengths, caches, rev=lambda a, lengths: a[::-1])


def halves_swapped(d_out, lengths, caches):
    """Wrong on purpose: the forward layer given the second half of d_out, the reverse the first."""
    return _bidirectional(d_out, lengths, caches, swap=True)


EXERCISE = Exercise(
    name="bidirectional_backward",
    title="Bidirectional LSTM layer on padded sequences",
    chapter="deep-bidirectional-residual.md",
    outputs=OUTPUTS,
    make_case=make_case,
    reference=reference,
    forward=forward,
    upstream="d_out",
    grad_of={"dx": "x", "dW_ih_f": "weight_ih_f", "dW_hh_f": "weight_hh_f", "db_f": "bias_ih_f",
             "dW_ih_r": "weight_ih_r", "dW_hh_r": "weight_hh_r", "db_r": "bias_ih_r"},
    terms=terms,
    blocks={name: GATES for name in OUTPUTS[1:]},
    steps={"dx": 0},
    sequences={"dx": 1},
    order=10,  # before residual_stack_backward: one layer, then a stack
    mutants=(
        Mutant("the reverse layer's dx left in reversed time", left_in_reversed_time,
               ("dx", "missing term: rev on LSTM_r's input gradient", "✓ dW_ih_r")),
        Mutant("dx from the forward direction only", forward_direction_only,
               ("dx", "missing term: the reverse direction's part")),
        Mutant("rev by a plain flip of the time axis", flips_the_whole_axis,
               ("dx", "by sequence: right at b = 0,", "lengths [4, 2, 3]", "dW_hh_r", "✓ dW_ih_f")),
        Mutant("d_out's halves swapped", halves_swapped, ("dW_ih_f", "dW_ih_r")),
    ),
)
