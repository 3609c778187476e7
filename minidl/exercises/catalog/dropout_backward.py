"""Exercise ``dropout_backward``: inverted dropout for a given mask (reference:
functional/dropout.py)."""

import numpy as np

from ...functional.dropout import DropoutCache
from ...functional.dropout import dropout_backward as library_backward
from ..spec import Case, Exercise, Mutant

__all__ = ["EXERCISE"]

SHAPES = ((3, 4), (2, 6), (4, 5), (2, 2, 3))


def make_case(rng, i):
    shape = SHAPES[i % len(SHAPES)]
    p = float(rng.choice([0.2, 0.3, 0.4]))  # not 0.5: 1/q = 2 would read as "a factor 2" too
    size = int(np.prod(shape))
    # exactly round(q·size) kept units: never all dropped, never none
    mask = (rng.permutation(size) < round((1 - p) * size)).astype(np.float64).reshape(shape)
    x, dy = rng.standard_normal(shape), rng.standard_normal(shape)
    q = 1 - p
    return Case(args={"dy": dy, "mask": mask, "p": p}, inputs={"x": x, "mask": mask, "p": p},
                factors={f"1/q (q = 1 − p = {q:.1f}, the keep probability)": 1 / q})


def reference(case):
    a = case.args
    return (library_backward(a["dy"], DropoutCache(a["mask"] / (1 - a["p"])))["x"],)


def forward(x, mask, p):
    return x * mask / (1 - p)


# ---------------------------------------------------------------- typical wrong solutions
def no_scale(dy, mask, p):
    return dy * mask


def scaled_by_q(dy, mask, p):  # multiplies by q where it should divide
    return dy * mask * (1 - p)


def inverted_mask(dy, mask, p):  # passes the dropped units instead of the kept ones
    return dy * (1 - mask) / (1 - p)


def no_mask(dy, mask, p):
    return dy / (1 - p)


EXERCISE = Exercise(
    name="dropout_backward",
    order=3,
    title="Inverted dropout: dx",
    chapter="linear-and-activations.md",
    outputs=("dx",),
    make_case=make_case,
    reference=reference,
    forward=forward,
    upstream="dy",
    grad_of={"dx": "x"},
    mutants=(
        Mutant("no 1/q", no_scale, ("dx", "did you forget the factor 1/q", "keep probability")),
        Mutant("times q instead of 1/q", scaled_by_q, ("dx", "off by a constant factor")),
        Mutant("the dropped units instead of the kept", inverted_mask, ("dx", "values differ")),
        Mutant("no mask", no_mask, ("dx", "values differ")),
    ),
)
