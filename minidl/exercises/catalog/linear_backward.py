"""Exercise ``linear_backward``: dx, dW, db of y = x Wᵀ + b (reference: functional/linear.py)."""

from ...functional.linear import linear_backward as library_backward
from ...functional.linear import linear_forward
from ..spec import Case, Exercise, Mutant

__all__ = ["EXERCISE"]

SHAPES = ((2, 3, 4), (3, 5, 5), (4, 6, 2), (1, 4, 3))  # (N, D, M): a square W, and a batch of one


def make_case(rng, i):
    N, D, M = SHAPES[i % len(SHAPES)]
    x, W, b, dy = rng.standard_normal((N, D)), rng.standard_normal((M, D)), rng.standard_normal(M), \
        rng.standard_normal((N, M))
    factors = {f"1/N (N = {N}, the batch size)": 1.0 / N} if N > 1 else {}
    return Case(args={"dy": dy, "x": x, "W": W}, inputs={"x": x, "W": W, "b": b}, factors=factors)


def reference(case):
    _, cache = linear_forward(case.inputs["x"], case.inputs["W"], case.inputs["b"])
    g = library_backward(case.args["dy"], cache)
    return g["x"], g["weight"], g["bias"]


def forward(x, W, b):
    return linear_forward(x, W, b)[0]


# ---------------------------------------------------------------- typical wrong solutions
def dw_transposed(dy, x, W):
    return dy @ W, x.T @ dy, dy.sum(axis=0)


def db_averaged(dy, x, W):
    return dy @ W, dy.T @ x, dy.mean(axis=0)


def dx_sign(dy, x, W):
    return -(dy @ W), dy.T @ x, dy.sum(axis=0)


def db_not_summed(dy, x, W):
    return dy @ W, dy.T @ x, dy


EXERCISE = Exercise(
    name="linear_backward",
    order=1,
    title="Linear layer: dx, dW, db",
    chapter="linear-and-activations.md",
    outputs=("dx", "dW", "db"),
    make_case=make_case,
    reference=reference,
    forward=forward,
    upstream="dy",
    grad_of={"dx": "x", "dW": "W", "db": "b"},
    mutants=(
        Mutant("dW = xᵀ dy (transposed)", dw_transposed, ("dW", "transposed")),
        Mutant("db = mean of dy", db_averaged, ("db", "extra factor 1/N", "batch size")),
        Mutant("dx = −dy W", dx_sign, ("dx", "sign flipped")),
        Mutant("db = dy, not summed", db_not_summed, ("db", "wrong shape", "sum over the batch")),
    ),
)
