"""Exercise ``numeric_gradient``: central differences, element by element (reference:
``minidl.gradcheck.numeric_gradient``, the numeric side of every check). Not a gradient of a
case's forward: the reference decides (the student's answer *is* the finite difference)."""

import numpy as np

from ...gradcheck import numeric_gradient as library_numeric_gradient
from ..spec import Case, Exercise, Mutant

EPS = 1e-5
SHAPES = ((3, 4), (5,), (2, 3, 2), (4, 1))  # a matrix, a vector, three axes, a column


class CurvedObjective:
    """f(x) = Σ w ⊙ sin(3x) + ½ (Σ v ⊙ x)²: curved enough (|f''| ≈ 9|w|) that a one-sided
    difference is off by ≈ ε·f''/2, ~10⁻⁵ of the gradient, far over the grader's 10⁻⁷, and
    coupled (the square) so that each element's derivative depends on the others.
    A class, not a closure: the grader deep-copies every argument."""

    def __init__(self, w, v):
        self.w, self.v = w, v

    def __call__(self, x):
        return float(np.sum(self.w * np.sin(3 * x)) + 0.5 * np.sum(self.v * x) ** 2)


def make_case(rng, i):
    """The i-th case: x (of ``SHAPES``) uniform in [−1, 1], a :class:`CurvedObjective` f with
    random weights, ε = ``EPS``; the factor 1/2 names an ε where 2ε belongs."""
    shape = SHAPES[i % len(SHAPES)]
    f = CurvedObjective(rng.uniform(0.5, 1.5, shape) * rng.choice([-1, 1], shape), 0.3 * rng.standard_normal(shape))
    return Case(args={"f": f, "x": rng.uniform(-1, 1, shape), "eps": EPS}, factors={"1/2 (the 2 of 2ε)": 0.5})


def reference(case):
    """The library's numeric gradient of f at x (it nudges its own copy in place)."""
    x = case.args["x"].copy()
    return (library_numeric_gradient(x, lambda: case.args["f"](x), case.args["eps"]),)


def _numeric(f, x, eps, *, central=True, one_at_a_time=True, denominator=2.0):
    """Central differences, or one typical mistake: one-sided, every element nudged at once, ε
    in place of 2ε."""
    grad = np.zeros_like(x)
    if not one_at_a_time:
        grad[...] = (f(x + eps) - f(x - eps)) / (denominator * eps)
        return grad
    nudged = x.copy()
    for i in np.ndindex(x.shape):
        nudged[i] = x[i] + eps
        plus = f(nudged)
        nudged[i] = x[i] - eps if central else x[i]
        other = f(nudged)
        nudged[i] = x[i]
        grad[i] = (plus - other) / ((denominator if central else 1.0) * eps)
    return grad


def terms(case):
    """The part a one-sided difference lacks: the right value minus (f(x + εe_i) − f(x))/ε, the
    truncation error of order ε that the backward half cancels."""
    right = reference(case)[0]
    return {"grad": {"the backward half f(x − εe_i) (a one-sided difference keeps an error ≈ ε·f''/2)":
                     right - _numeric(**case.args, central=False)}}


def one_sided(f, x, eps):
    """Wrong on purpose: (f(x + εe_i) − f(x))/ε. "missing term: the backward half"."""
    return _numeric(f, x, eps, central=False)


def over_eps(f, x, eps):
    """Wrong on purpose: central differences divided by ε, not 2ε: "off by a factor 2"."""
    return _numeric(f, x, eps, denominator=1.0)


def all_at_once(f, x, eps):
    """Wrong on purpose: every element nudged together, (f(x + ε) − f(x − ε))/2ε everywhere: the
    derivative along the all-ones direction, the same number in every element."""
    return _numeric(f, x, eps, one_at_a_time=False)


def flattened(f, x, eps):
    """Wrong on purpose: the estimate returned flat, (x.size,): "wrong shape"."""
    return _numeric(f, x, eps).reshape(-1)


EXERCISE = Exercise(
    name="numeric_gradient",
    title="Numeric gradient by central differences",
    chapter="gradient-checking.md",
    outputs=("grad",),
    make_case=make_case,
    reference=reference,
    terms=terms,
    mutants=(
        Mutant("one-sided differences", one_sided, ("grad", "missing term: the backward half")),
        Mutant("divided by ε, not 2ε", over_eps, ("grad", "1/2 (the 2 of 2ε)")),
        Mutant("every element nudged at once", all_at_once, ("grad", "differ")),
        Mutant("returned flat", flattened, ("grad", "shape")),
    ),
)
