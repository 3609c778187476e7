"""Graded exercises: write a backward pass, and be told *where* it is wrong.

A student edits a stub in the repository's ``exercises/`` folder (or a copy written by
``python -m minidl.exercises init DIR``) and runs::

    python -m minidl.exercises list
    python -m minidl.exercises check linear_backward        # or: check all  [--dir DIR]

The grader (:mod:`.grader`) runs the student's function on a few random float64 cases,
compares every returned quantity with the library's own reference code and, for a
gradient, with finite differences of the forward (``minidl.gradcheck``'s numeric side),
and says per quantity what is wrong: a shape (transposed?), a transpose, a sign, a
constant factor (a forgotten 1/N), a missing term, a wrong gate block
(:mod:`.diagnose`).

Layout
------
``minidl/exercises/``
    ``spec.py`` (what an exercise declares), ``grader.py``, ``diagnose.py``,
    ``registry.py`` (finds exercises, loads a student's file), ``commands.py`` + ``__main__.py``
    (the command line);
``catalog/<name>.py``
    one module per exercise (or family), defining ``EXERCISE`` (or ``EXERCISES``, a list);
``solutions/<name>.py``
    the worked solution: a function ``<name>``, short, included in the course text;
``stubs/<name>.py``
    the stub the student fills in: the ONE source of the stub text. ``init`` copies it,
    and the repository's ``exercises/<name>.py`` is a copy that a test keeps equal.

How to add an exercise ``foo_backward``
---------------------------------------
1. ``minidl/exercises/stubs/foo_backward.py``: a module docstring with the forward
   equation, the shapes and what to derive, ending with the ``check`` command; the forward
   given as code where it helps; then ``def foo_backward(dy, x, ...)`` with a docstring of
   shapes and ``raise NotImplementedError(...)``. The argument names are the keys of
   ``Case.args``; the function returns its quantities as a tuple in the order of
   ``Exercise.outputs`` (one quantity: the array). Import numpy only if the stub uses it
   (ruff). Copy it to ``exercises/foo_backward.py`` (or run
   ``python -m minidl.exercises init exercises --force``, which rewrites every stub).
2. ``minidl/exercises/solutions/foo_backward.py``: ``def foo_backward(...)`` with the
   stub's signature, NumPy only, commented for a student (the docs include the file whole).
3. ``minidl/exercises/catalog/foo_backward.py`` defining ``EXERCISE = Exercise(...)``
   (see :class:`.spec.Exercise` for every field)::

       def make_case(rng, i):          # i-th random case; small shapes, vary them with i
           x, dy = rng.standard_normal((N, D)), rng.standard_normal((N, D))
           return Case(args={"dy": dy, "x": x},            # the student's arguments
                       inputs={"x": x},                    # the forward's, for finite differences
                       factors={"1/N (N = 3, the batch size)": 1 / 3})   # optional

       def reference(case):            # the library's own code, in the order of outputs
           y, cache = foo_forward(case.inputs["x"])
           return (foo_backward_library(case.args["dy"], cache)["x"],)

       EXERCISE = Exercise(
           name="foo_backward", title="Foo: dx", chapter="linear-and-activations.md",
           outputs=("dx",), make_case=make_case, reference=reference,
           forward=lambda x: foo_forward(x)[0],  # L = Σ⟨dy, forward(**inputs)⟩
           upstream="dy",                        # or a tuple ("dh", "dc"); None: forward is the loss
           grad_of={"dx": "x"},                  # output -> the input it differentiates
           terms=lambda case: {"dx": {"through the mean μ": ..., ...}},   # optional
           blocks={"dW_ih": Blocks(0, ("i", "f", "g", "o"))},            # optional, gated cells
           mutants=(Mutant("dx without the mean term", wrong_fn, ("dx", "missing term: through the mean")),
                    ...),                        # at least three
       )

   Nothing else is edited: the registry discovers every catalog module, and the tests in
   ``tests/exercises/`` are parametrised over the registry (the solution passes; every
   mutant fails with its words; every case's gradients are non-zero; stubs and solutions
   have the declared signature).

Terms, blocks, factors, mutants
-------------------------------
* ``terms(case)`` returns ``{output: {name: array}}``: named parts of the right value G
  (usually summing to it). A student value S = G − T_k is reported as
  ``missing term: <name>``, S = G − 2·T_k as that term's wrong sign. Name a term by what it
  is (``"through the variance σ²"``, ``"bias correction"``, ``"the sum over repeated ids"``):
  a "term" may be any part a typical mistake drops, e.g. G minus the uncorrected update.
* ``blocks={output: Blocks(axis, names)}``: G is ``len(names)`` equal blocks along
  ``axis`` (an LSTM's ``(4H, ·)`` weights: i, f, g, o; a GRU's r, z, n). When some blocks
  are right and others not, the report names the wrong ones and how each is wrong.
* ``Case.factors``: ``{name: f}``; a student value c·G with c = 1/f says "did you forget
  the factor <name>?", c = f "an extra factor <name>?".
* ``Mutant(name, fn, expect)``: ``fn`` has the student's signature; the test requires the
  grader to fail it with every (case-insensitive) fragment of ``expect`` in the report.
"""

from .grader import Report, grade
from .registry import exercises, get, load_function, solution
from .spec import Blocks, Case, Exercise, Mutant

__all__ = ["Exercise", "Case", "Blocks", "Mutant", "grade", "Report", "exercises", "get", "solution",
           "load_function"]
