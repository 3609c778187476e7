"""Exercise ``residual_stack_backward``: report E's stack of one-layer LSTMs with a skip around
every layer but the first (reference: ``minidl.nn.ResidualStackLSTM``, the module, against the
functional layers' caches)."""

import copy

import numpy as np

from ...functional.lstm import lstm_backward
from ...nn.residual_stack_lstm import ResidualStackLSTM
from ..spec import Blocks, Case, Exercise, Mutant
from ..stubs.residual_stack_backward import residual_stack_forward  # the stub's forward: one source

L = 3  # layers: the first without a skip, two with one
SHAPES = ((3, 2, 4, 3), (4, 3, 2, 2), (2, 1, 3, 4), (3, 2, 3, 3))  # (T, B, D, H): D ≠ H first, a batch of one
WEIGHTS = ("weight_ih", "weight_hh", "bias_ih", "bias_hh")
OUTPUTS = ("dx",) + tuple(f"{g}_{l}" for l in range(L) for g in ("dW_ih", "dW_hh", "db"))
GATES = Blocks(0, ("i", "f", "g", "o"))


def _layers(inputs):
    return [{w: inputs[f"{w}_{l}"] for w in WEIGHTS} for l in range(L)]


def make_case(rng, i):
    """The i-th case (T, B, D, H of ``SHAPES``): weights of scale 0.5; ``args`` are d_out (T, B, H),
    d_h_n (L, B, H) and the stub's ``residual_stack_forward``'s caches."""
    T, B, D, H = SHAPES[i % len(SHAPES)]
    inputs = {"x": rng.standard_normal((T, B, D))}
    for l in range(L):
        Dl = D if l == 0 else H
        inputs.update({f"weight_ih_{l}": 0.5 * rng.standard_normal((4 * H, Dl)),
                       f"weight_hh_{l}": 0.5 * rng.standard_normal((4 * H, H)),
                       f"bias_ih_{l}": 0.5 * rng.standard_normal(4 * H),
                       f"bias_hh_{l}": 0.5 * rng.standard_normal(4 * H)})
    _, _, caches = residual_stack_forward(inputs["x"], _layers(inputs))
    args = {"d_out": rng.standard_normal((T, B, H)), "d_h_n": rng.standard_normal((L, B, H)), "caches": caches}
    return Case(args=args, inputs=inputs)


def reference(case):
    """The module ``minidl.nn.ResidualStackLSTM`` with the case's weights: its backward."""
    x = case.inputs["x"]
    stack = ResidualStackLSTM(x.shape[2], case.inputs["weight_hh_0"].shape[1], num_layers=L).double()
    named = dict(stack.named_parameters())
    for l in range(L):
        for w in WEIGHTS:
            named[f"layers.{l}.{w}_l0"].data[...] = case.inputs[f"{w}_{l}"]
    stack(x)
    dx, _, _ = stack.backward(case.args["d_out"], case.args["d_h_n"])
    return (dx,) + tuple(named[f"layers.{l}.{w}_l0"].grad.copy() for l in range(L) for w in WEIGHTS[:3])


def forward(x, **weights):
    """(u_L (T, B, H), h_n (L, B, H)): the forward whose finite differences check every gradient."""
    u, h_n, _ = residual_stack_forward(x, _layers(weights))
    return u, h_n


def _stack(d_out, d_h_n, caches, *, skip=True, h_n_through=True, h_n_around=True):
    """The backward, or one typical mistake: no skip path (the plain stack's backward), h_n[l]'s
    gradient sent only through layer l (as the layer's own final state), or only around it."""
    du = d_out.copy()
    grads = [None] * len(caches)
    for l in range(len(caches) - 1, -1, -1):
        d_in = du.copy()
        d_in[-1] += d_h_n[l] if h_n_through or l == 0 else 0.0
        g = lstm_backward((d_in, None, None), caches[l])
        grads[l] = (g["weight_ih"], g["weight_hh"], g["bias_ih"])
        if l > 0:
            around = du.copy() if skip else np.zeros_like(du)
            if skip and h_n_around:
                around[-1] += d_h_n[l]
            du = around + g["x"]
        else:
            du = g["x"]
    return (du,) + tuple(a for layer in grads for a in layer)


def _copied(case, **mistake):
    """:func:`_stack` on a copy of the case's caches (``lstm_backward`` writes over them)."""
    return _stack(case.args["d_out"], case.args["d_h_n"], copy.deepcopy(case.args["caches"]), **mistake)


TERMS = {"skip": "the skip path (∂L/∂u_{l+1} reaches u_l around layer l unchanged)",
         "h_n_around": "h_n[l]'s share around layer l (h_n[l] is u_{l+1}, skip included)",
         "h_n_through": "h_n[l]'s share through layer l (h_n[l] is u_{l+1}, the layer's output included)"}


def terms(case):
    """For every output, the three parts of ``TERMS`` (each the right gradient minus the one
    computed without that part), so a stack that drops one is told which."""
    right = _copied(case)
    out = {name: {} for name in OUTPUTS}
    for flag, term in TERMS.items():
        for name, r, s in zip(OUTPUTS, right, _copied(case, **{flag: False})):
            out[name][term] = r - s
    return out


def no_skip(d_out, d_h_n, caches):
    """Wrong on purpose: ∂L/∂u_l through layer l only, the plain stack's backward (what report
    E's LSTM-8 has). The top layer's weights pass; everything below is told "missing term: the
    skip path"."""
    return _stack(d_out, d_h_n, caches, skip=False)


def h_n_as_the_layers_own_state(d_out, d_h_n, caches):
    """Wrong on purpose: h_n[l]'s gradient given to layer l as the gradient of its own output
    only, so it never goes around the layer. dx is told "missing term: h_n[l]'s share around"."""
    return _stack(d_out, d_h_n, caches, h_n_around=False)


def h_n_added_after_the_layer(d_out, d_h_n, caches):
    """Wrong on purpose: h_n[l]'s gradient added to ∂L/∂u_l after layer l's backward, so it skips
    the layer it came out of. Layer 1's and 2's weights are told "missing term: h_n[l]'s share
    through layer l"."""
    return _stack(d_out, d_h_n, caches, h_n_through=False)


EXERCISE = Exercise(
    name="residual_stack_backward",
    title="Residual LSTM stack (report E): through each layer and around it",
    chapter="deep-bidirectional-residual.md",
    outputs=OUTPUTS,
    make_case=make_case,
    reference=reference,
    forward=forward,
    upstream=("d_out", "d_h_n"),
    grad_of={"dx": "x", **{f"{g}_{l}": f"{w}_{l}" for l in range(L)
                           for g, w in (("dW_ih", "weight_ih"), ("dW_hh", "weight_hh"), ("db", "bias_ih"))}},
    terms=terms,
    blocks={f"{g}_{l}": GATES for l in range(L) for g in ("dW_ih", "dW_hh", "db")},
    steps={"dx": 0},  # time-major: the report says at which steps dx is right
    mutants=(
        Mutant("no skip path: the plain stack's backward", no_skip,
               ("dx", "dW_ih_0", "missing term: the skip path")),
        Mutant("h_n[l]'s gradient given to layer l's own output only", h_n_as_the_layers_own_state,
               ("dx", "missing term: h_n[l]'s share around", "d_out alone (d_h_n = 0): all right",
                "a path that only d_h_n takes")),
        Mutant("h_n[l]'s gradient added after layer l's backward", h_n_added_after_the_layer,
               ("dW_hh_2", "missing term: h_n[l]'s share through", "a path that only d_h_n takes")),
    ),
)
