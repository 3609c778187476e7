"""What an exercise is: the data a catalog module declares, and nothing that runs it.

An exercise asks the student for one function (``linear_backward``) that returns one or
more named quantities (``dx, dW, db``). The grader draws a few random :class:`Case` s,
calls the student's function and the library's reference on each, and compares every
returned quantity; where a quantity is a gradient of a forward, it also checks it against
finite differences of that forward (``minidl.gradcheck``'s numeric side).

The rest of the declaration exists to *locate* a mistake: named terms of a gradient (a
dropped term is recognised), named blocks along a gate axis (a wrong gate is named),
named factors a student may forget (1/N, 1/q), and typical wrong solutions (mutants) that
the tests feed to the grader to prove each diagnosis fires.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

__all__ = ["Case", "Blocks", "Mutant", "Exercise"]


@dataclass
class Case:
    """One random instance of an exercise.

    Attributes:
        args: the student's function's keyword arguments (the grader passes a fresh copy
            of every array to each call, so an in-place edit cannot leak into the next).
        inputs: the forward's arguments, for the finite-difference check (``Exercise.forward``
            is called as ``forward(**inputs)``; the arrays named in ``Exercise.grad_of`` are
            nudged in place). May share arrays with ``args`` only if the forward does not
            modify them.
        factors: named factors a student may forget or apply twice, e.g.
            ``{"1/N (N = 4, the batch size)": 0.25}``: when the student's value is the
            right one times ``1/f`` (or ``f``) the grader names the factor.
    """

    args: dict
    inputs: dict = field(default_factory=dict)
    factors: dict = field(default_factory=dict)

    def describe(self) -> str:
        """``"dy (2, 4), x (2, 3), W (4, 3)"``: the shapes of the array arguments (scalars, tuples
        of ints and short 1-D int arrays such as lengths by value)."""
        parts = []
        for k, v in self.args.items():
            if hasattr(v, "shape") and getattr(v, "ndim", 0) == 1 and v.size <= 8 and v.dtype.kind in "iu":
                parts.append(f"{k} {[int(e) for e in v]}")  # a few ints by value: lengths [4, 2, 3]
            elif hasattr(v, "shape") and getattr(v, "ndim", 0) > 0:
                parts.append(f"{k} {tuple(v.shape)}")
            elif isinstance(v, (int, float)) or hasattr(v, "shape"):
                parts.append(f"{k}={float(v):.3g}" if isinstance(v, float) else f"{k}={v}")
            elif isinstance(v, tuple) and v and all(isinstance(e, int) for e in v):
                parts.append(f"{k}={v}")  # a window or a shape: kernel_size=(2, 3)
        return ", ".join(parts)


@dataclass(frozen=True)
class Blocks:
    """A gradient made of equal blocks along ``axis``, one per name: the gates of a gated
    cell. ``Blocks(0, ("i", "f", "g", "o"))`` for an LSTM's ``dW_ih`` (4H, D): the grader
    compares block by block and says which gates are off (and how, when it can tell)."""

    axis: int
    names: tuple


@dataclass(frozen=True)
class Mutant:
    """A typical wrong solution, with the words the grader's message must contain.

    ``fn`` has the student function's signature. ``expect``: case-insensitive fragments of
    the report that a test requires, e.g. ``("dW", "transpose")`` or
    ``("dx", "missing term: through the variance")``.
    """

    name: str
    fn: Callable
    expect: tuple


@dataclass(frozen=True)
class Exercise:
    """The declaration of one exercise (one catalog module holds ``EXERCISE = Exercise(...)``).

    Attributes:
        name: the function the student writes, and the name of its stub and solution files
            (``exercises/<name>.py``, ``minidl/exercises/solutions/<name>.py``).
        title: a few words for ``list`` and the docs table.
        chapter: the course page it belongs to (``"linear-and-activations.md"``).
        outputs: the names of the returned quantities, in order (``("dx", "dW", "db")``);
            the student returns them as a tuple (one quantity: the array itself).
        make_case: ``make_case(rng, i) -> Case``: the i-th random case, drawn from the
            NumPy generator ``rng`` (small: batch ≤ 4, dims ≤ 6; vary the shapes with i,
            include a non-square one so a transpose shows in the shape).
        reference: ``reference(case) -> tuple`` of arrays in the order of ``outputs``,
            computed by the library's own code (``minidl.functional``, ``minidl.optim``).
        forward: ``forward(**case.inputs) -> y`` (an array or a tuple of arrays), or None
            when no output is a gradient (an optimiser step).
        upstream: the names in ``case.args`` of the upstream gradients G_k of the forward's
            outputs (a string for one output, a tuple for several, with None for an output
            that does not reach the loss; None: forward returns the scalar objective itself,
            a loss). The objective is L = Σ_k ⟨G_k, y_k⟩.
        grad_of: ``{output name: input name}``: which outputs are ∂L/∂(an array of
            ``case.inputs``), e.g. ``{"dx": "x", "dW": "weight", "db": "bias"}``.
        terms: ``terms(case) -> {output: {term name: array}}``: named parts of a gradient
            (usually summing to it). A student value equal to the gradient minus one part
            is reported as "missing term: <name>"; minus twice a part as that term's sign.
        blocks: ``{output: Blocks(axis, names)}`` for gradients laid out by gate.
        steps: ``{output: axis}`` for a quantity with a time axis (a sequence's dx: axis 0).
            When nothing more specific fits, the report says at which steps it is right and
            at which wrong: a BPTT mistake shows as "right at the last step only".
        sequences: ``{output: axis}`` for a quantity with an axis of sequences of different
            lengths (a padded batch's dx: axis 1): likewise, for which sequences it is right.
        mutants: typical wrong solutions; the tests require at least three.
        cases: how many random cases a check draws.
        order: the exercise's place among its chapter's exercises (lower first; then by name).
    """

    name: str
    title: str
    chapter: str
    outputs: tuple
    make_case: Callable
    reference: Callable
    forward: Callable | None = None
    upstream: str | tuple | None = None
    grad_of: dict = field(default_factory=dict)
    terms: Callable | None = None
    blocks: dict = field(default_factory=dict)
    steps: dict = field(default_factory=dict)
    sequences: dict = field(default_factory=dict)
    mutants: tuple = ()
    cases: int = 4
    order: int = 100
