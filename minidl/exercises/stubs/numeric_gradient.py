"""Exercise: the numeric gradient, by central differences (chapter: gradient-checking.md).

Given a scalar function f of an array x (any shape) and a step ε, estimate every element
of ∂f/∂x by nudging that element alone, both ways:

    ∂f/∂x[i]  ≈  ( f(x + ε e_i) − f(x − ε e_i) ) / (2ε)        e_i: 1 at element i, 0 elsewhere

an error of order ε² (the one-sided (f(x + ε e_i) − f(x))/ε keeps an error of order ε).
Return an array of x's shape. Leave x as you found it: f may be called with x itself, or
with a copy you nudge.

This is the numeric side of every gradient check in the course: what ``minidl.gradcheck``
compares a hand-written backward with.

Check it:  python -m minidl.exercises check numeric_gradient
"""

import numpy as np  # noqa: F401  (you will need np.zeros_like, np.ndindex or a flat view)


def numeric_gradient(f, x, eps):
    """f: a function of one array of x's shape returning a float; x: an array (any shape, float64);
    eps: the step, a float -> the estimate of ∂f/∂x, an array of x's shape."""
    raise NotImplementedError("one element at a time, nudged both ways")
