"""Exercise ``activations_backward``: ReLU, sigmoid and tanh backward (reference:
functional/activations.py). Each activation gets its own copy of x in the forward, so
finite differences check each gradient alone."""

import numpy as np

from ...functional import activations as A
from ..spec import Case, Exercise, Mutant

__all__ = ["EXERCISE"]

SHAPES = ((2, 3), (4, 5), (3,), (2, 2, 3))


def make_case(rng, i):
    shape = SHAPES[i % len(SHAPES)]
    # |x| ≥ 0.1: ReLU's kink at 0 stays far from the ±1e-6 nudges of the finite differences
    x = rng.uniform(0.1, 2.0, shape) * rng.choice([-1.0, 1.0], shape)
    x.flat[0], x.flat[-1] = 0.5, -0.5  # at least one unit on and one off
    dy = rng.standard_normal(shape)
    return Case(args={"dy": dy, "x": x}, inputs={"x_relu": x.copy(), "x_sigmoid": x.copy(), "x_tanh": x.copy()})


def reference(case):
    x, dy = case.args["x"], case.args["dy"]
    out = []
    for forward, backward in ((A.relu_forward, A.relu_backward), (A.sigmoid_forward, A.sigmoid_backward),
                              (A.tanh_forward, A.tanh_backward)):
        out.append(backward(dy, forward(x)[1])["x"])
    return tuple(out)


def forward(x_relu, x_sigmoid, x_tanh):
    return A.relu_forward(x_relu)[0], A.sigmoid(x_sigmoid), np.tanh(x_tanh)


def terms(case):
    dy, x = case.args["dy"], case.args["x"]
    s, t = A.sigmoid(x), np.tanh(x)
    return {"dx_sigmoid": {"dy ⊙ y": dy * s, "−dy ⊙ y²": -dy * s * s},
            "dx_tanh": {"dy": dy, "−dy ⊙ y²": -dy * t * t}}


# ---------------------------------------------------------------- typical wrong solutions
def relu_without_dy(dy, x):
    s, t = A.sigmoid(x), np.tanh(x)
    return (x > 0) * 1.0, dy * s * (1 - s), dy * (1 - t * t)


def sigmoid_derivative_of_x(dy, x):  # σ'(y) written with x in place of y = σ(x)
    t = np.tanh(x)
    return dy * (x > 0), dy * x * (1 - x), dy * (1 - t * t)


def tanh_sign(dy, x):
    s, t = A.sigmoid(x), np.tanh(x)
    return dy * (x > 0), dy * s * (1 - s), dy * (t * t - 1)


def tanh_missing_square(dy, x):  # tanh' taken as 1
    s = A.sigmoid(x)
    return dy * (x > 0), dy * s * (1 - s), dy


def sigmoid_missing_term(dy, x):  # σ' taken as σ
    s, t = A.sigmoid(x), np.tanh(x)
    return dy * (x > 0), dy * s, dy * (1 - t * t)


EXERCISE = Exercise(
    name="activations_backward",
    order=2,
    title="ReLU, sigmoid, tanh: dx",
    chapter="linear-and-activations.md",
    outputs=("dx_relu", "dx_sigmoid", "dx_tanh"),
    make_case=make_case,
    reference=reference,
    forward=forward,
    upstream=("dy", "dy", "dy"),
    grad_of={"dx_relu": "x_relu", "dx_sigmoid": "x_sigmoid", "dx_tanh": "x_tanh"},
    terms=terms,
    mutants=(
        Mutant("ReLU: the mask alone, without dy", relu_without_dy, ("dx_relu", "values differ")),
        Mutant("sigmoid: x(1 − x) instead of y(1 − y)", sigmoid_derivative_of_x, ("dx_sigmoid", "values differ")),
        Mutant("tanh: y² − 1", tanh_sign, ("dx_tanh", "sign flipped")),
        Mutant("tanh: derivative taken as 1", tanh_missing_square, ("dx_tanh", "missing term: −dy ⊙ y²")),
        Mutant("sigmoid: derivative taken as y", sigmoid_missing_term, ("dx_sigmoid", "missing term: −dy ⊙ y²")),
    ),
)
