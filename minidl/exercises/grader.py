"""The grader: run a student's function on random float64 cases and say what is wrong.

For each of ``exercise.cases`` random cases (seeded: the same cases on every run):

1. the library computes the reference (``exercise.reference``: minidl's own functional
   code or optimiser);
2. where a quantity is a gradient (``exercise.grad_of``), ``minidl.gradcheck``'s numeric
   side computes it by central differences of ``exercise.forward``; the reference must
   agree with it (else the library has a bug, and the grader says so);
3. the student's function is called on fresh copies of the arguments, and each returned
   quantity is compared with the reference (:func:`~minidl.exercises.diagnose.diagnose`
   says what is wrong) and, for a gradient, with the finite differences under gradcheck's
   own tolerance (``|a − n| ≤ atol + rtol·|n|``).

A quantity passes when it is right in every case; the report gives, per quantity, the
largest error over the cases and the diagnosis of the first case where it is wrong.

Where the forward has several outputs with their own upstream gradients (an LSTM step's
∂L/∂h' and ∂L/∂c'; BPTT's per-step outputs and final state) and something is wrong, the
cases are run once more per upstream gradient, the others set to zero (:func:`split_by_path`).
A backward pass is linear in its upstream gradients, so a mistake that shows with ∂L/∂h'
alone and not with ∂L/∂c' alone lies where only ∂L/∂h' flows, before the two paths meet.
"""

from __future__ import annotations

import copy
import traceback
from dataclasses import dataclass, field

import numpy as np

from ..errors import ShapeError
from ..gradcheck import DEFAULT_EPS, DEFAULT_RTOL, compare_full, default_atol, numeric_gradient, objective_scale
from .diagnose import close, diagnose, errors
from .spec import Case, Exercise

__all__ = ["PASS", "FAIL", "NOT_IMPLEMENTED", "ERROR", "QuantityResult", "PathResult", "Report",
           "ReferenceMismatch", "Prepared", "prepare", "grade", "split_by_path"]

PASS, FAIL, NOT_IMPLEMENTED, ERROR = "pass", "fail", "not implemented yet", "error"


class ReferenceMismatch(AssertionError):
    """The library's reference disagrees with finite differences, or returned the wrong set of
    quantities: a bug in minidl or in the exercise's declaration, not in the student's code."""


@dataclass
class QuantityResult:
    """One returned quantity over all cases: right or not, the largest errors, the diagnosis."""

    name: str
    ok: bool = True
    max_abs: float = 0.0
    rel: float = 0.0
    message: str = ""
    case: str = ""
    checked_by_fd: bool = False

    def line(self, width: int) -> str:
        """``✓ name  max|Δ| …  rel …`` or ``✗ name  diagnosis`` over ``errors; case`` (two lines)."""
        size = f"max|Δ| {self.max_abs:.1e}, rel {self.rel:.1e}" if np.isfinite(self.max_abs) else ""
        if self.ok:
            checked = "reference and finite differences" if self.checked_by_fd else "reference"
            return f"  ✓ {self.name:<{width}}  {size}  (= {checked})"
        where = f"first wrong in case {self.case}"
        return f"  ✗ {self.name:<{width}}  {self.message}\n    {'':<{width}}  {size + '; ' if size else ''}{where}"


@dataclass(frozen=True)
class PathResult:
    """The cases rerun with only the upstream gradient ``alone`` non-zero (``zeroed``: the
    others); ``wrong``: the quantities that are then wrong, in the order of the outputs."""

    alone: str
    zeroed: tuple
    wrong: tuple


def path_lines(paths: list, n_outputs: int) -> list:
    """The report's lines for :func:`split_by_path`'s results: one per upstream gradient, then
    where the mistake is (on one path only, on the part they share, or in how they add up)."""
    width = max(len(p.alone) for p in paths)
    lines = []
    for k, p in enumerate(paths):
        head = "  paths:" if k == 0 else "        "
        zero = ", ".join(p.zeroed) + " = 0"
        said = "all right" if not p.wrong else f"{len(p.wrong)} of {n_outputs} wrong ({', '.join(p.wrong)})"
        lines.append(f"{head} {p.alone:<{width}} alone ({zero}): {said}")
    bad = [p.alone for p in paths if p.wrong]
    good = [p.alone for p in paths if not p.wrong]
    if bad and good:
        where = (f"the mistake is on a path that only {' and '.join(bad)} takes "
                 f"(with {' and '.join(good)} alone every quantity is right)")
    elif bad:
        where = "wrong with each alone: the mistake is (also) in a part every path goes through"
    else:
        where = ("right with each alone, wrong with them together: the paths do not add up "
                 "(an overwrite or a product where a sum belongs?)")
    lines.append(f"         → {where}")
    return lines


@dataclass
class Report:
    """What :func:`grade` found. ``status`` is PASS, FAIL, NOT_IMPLEMENTED or ERROR;
    ``str(report)``: one line per quantity and a summary line."""

    exercise: str
    status: str
    quantities: list = field(default_factory=list)
    detail: str = ""
    cases: int = 0
    paths: list = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.status == PASS

    def __str__(self) -> str:
        if self.status == NOT_IMPLEMENTED:
            return f"· {self.exercise}: not implemented yet (the stub still raises NotImplementedError)"
        if self.status == ERROR:
            return f"✗ {self.exercise}: {self.detail}"
        width = max(len(q.name) for q in self.quantities)
        lines = [f"{self.exercise} ({self.cases} random cases, float64)"]
        lines += [q.line(width) for q in self.quantities]
        if self.paths:
            lines += path_lines(self.paths, len(self.quantities))
        right = sum(q.ok for q in self.quantities)
        n = len(self.quantities)
        noun = "quantity" if n == 1 else "quantities"
        if self.ok:
            lines.append(f"✓ {self.exercise}: {'the' if n == 1 else f'all {n}'} {noun} right")
        else:
            lines.append(f"✗ {self.exercise}: {right} of {n} {noun} right")
        return "\n".join(lines)


@dataclass
class Prepared:
    """The cases of one (exercise, seed), with the reference values and finite differences."""

    cases: list
    references: list  # per case: tuple in the order of exercise.outputs
    numerics: list  # per case: {output: (numeric gradient, atol)}


def _as_tuple(values, exercise: Exercise, who: str) -> tuple:
    n = len(exercise.outputs)
    if isinstance(values, dict):
        return tuple(values.get(k) for k in exercise.outputs)
    if n == 1 and not isinstance(values, (tuple, list)):
        return (values,)
    if not isinstance(values, (tuple, list)) or len(values) != n:
        got = f"{len(values)} values" if isinstance(values, (tuple, list)) else type(values).__name__
        raise ShapeError(f"{who} returned {got}; expected {n}: ({', '.join(exercise.outputs)})")
    return tuple(values)


def _copy(value):
    """A fresh copy for one call of the student's function: an array, or a cache holding arrays
    (a dict, a list of a layer's caches), so that an edit in place, or a library backward that
    writes over its cache (``lstm_backward``), cannot leak into the next call."""
    return value.copy() if isinstance(value, np.ndarray) else copy.deepcopy(value)


def _upstream(exercise: Exercise) -> tuple:
    """``exercise.upstream`` as a tuple, one entry per forward output (None: no upstream);
    ``()`` when the forward returns the objective itself."""
    names = exercise.upstream
    return () if names is None else ((names,) if isinstance(names, str) else tuple(names))


def numeric_gradients(exercise: Exercise, case: Case) -> dict:
    """``{output: (∂L/∂input by central differences, atol)}`` for every ``grad_of`` entry,
    with L = Σ_k ⟨G_k, y_k⟩ (``upstream`` names the G_k in ``case.args``) or L = y."""
    if not exercise.grad_of:
        return {}
    inputs = {k: np.ascontiguousarray(_copy(v)) if isinstance(v, np.ndarray) else v for k, v in case.inputs.items()}
    names = _upstream(exercise)
    live = [k for k, n in enumerate(names) if n is not None]  # an output without upstream: not in L
    upstream = [np.asarray(case.args[names[k]], dtype=np.float64) for k in live]

    def outputs():
        y = exercise.forward(**inputs)
        y = list(y) if isinstance(y, (tuple, list)) else [y]
        return [y[k] for k in live] if names else y

    def objective() -> float:
        ys = outputs()
        if not upstream:
            return float(np.sum(ys[0]))
        return sum(float(np.sum(y * g)) for y, g in zip(ys, upstream))

    ys = outputs()
    scale = objective_scale(ys, upstream) if upstream else abs(float(np.sum(ys[0])))
    atol = default_atol(scale, DEFAULT_EPS)
    return {out: (numeric_gradient(inputs[inp], objective, DEFAULT_EPS), atol)
            for out, inp in exercise.grad_of.items()}


# (name, id of the exercise, seed) -> (the exercise, its Prepared). The entry holds the
# exercise itself: an id is only unique while its object lives, and a freed exercise's id
# is soon given to a new one, which would then be served the old one's references
_PREPARED: dict = {}


def prepare(exercise: Exercise, seed: int = 0) -> Prepared:
    """Draw the cases, compute the references and the finite differences, and check that they
    agree (:class:`ReferenceMismatch` if not). Cached per (exercise, seed)."""
    key = (exercise.name, id(exercise), seed)
    cached = _PREPARED.get(key)
    if cached is not None and cached[0] is exercise:
        return cached[1]
    cases = [exercise.make_case(np.random.default_rng([seed, i]), i) for i in range(exercise.cases)]
    references, numerics = [], []
    for i, case in enumerate(cases):
        ref = _as_tuple(exercise.reference(case), exercise, f"the reference of {exercise.name}")
        num = numeric_gradients(exercise, case)
        for k, name in enumerate(exercise.outputs):
            if name in num:
                _, _, used = compare_full(ref[k], num[name][0], num[name][1], DEFAULT_RTOL)
                if not used <= 1.0:
                    raise ReferenceMismatch(f"{exercise.name}: the library's {name} disagrees with finite differences "
                                         f"in case {i + 1} (tolerance used {used:.3g}): a bug in minidl")
        references.append(ref)
        numerics.append(num)
    prepared = Prepared(cases, references, numerics)
    _PREPARED[key] = (exercise, prepared)
    return prepared


def _student_error(exc: BaseException, fn, case_no: int, case: Case) -> str:
    """One line: the exception and the line of the student's file that raised it."""
    filename = getattr(getattr(fn, "__code__", None), "co_filename", None)
    frames = [f for f in traceback.extract_tb(exc.__traceback__) if f.filename == filename]
    where = f" at line {frames[-1].lineno} ({frames[-1].line})" if frames else ""
    return f"raised {type(exc).__name__}: {exc}{where} in case {case_no} ({case.describe()})"


def _float_array(s, shape):
    """S as a float64 array when it is one of ``shape``; else None (it cannot be measured)."""
    try:
        arr = np.asarray(s, dtype=np.float64)
    except (TypeError, ValueError):
        return None
    return arr if arr.shape == shape else None


def _swapped(got: tuple, k: int, ref: tuple, names: tuple) -> str | None:
    """Quantities k and j are each the other's right value: the tuple's order is off."""
    def equal(s, g):
        arr = None if s is None or isinstance(s, str) else _float_array(s, np.shape(g))
        return arr is not None and close(arr, np.asarray(g))

    for j in range(len(ref)):
        if j != k and equal(got[k], ref[j]) and equal(got[j], ref[k]):
            return f"this is the right value of {names[j]}: return them in the order ({', '.join(names)})"
    return None


def _compare(result: QuantityResult, got: tuple, k: int, ref: tuple, numeric, exercise: Exercise, case: Case,
             case_no: int, terms) -> None:
    """Fold one case's comparison of quantity k (``result.name``) into ``result``."""
    name, s, g = result.name, got[k], ref[k]
    message = diagnose(s, g, terms=terms.get(name), blocks=exercise.blocks.get(name), factors=case.factors,
                       step_axis=exercise.steps.get(name), sequence_axis=exercise.sequences.get(name))
    arr = _float_array(s, g.shape)
    if message:
        message = _swapped(got, k, ref, exercise.outputs) or message
    max_abs, rel = errors(arr, g)
    if message is None and numeric is not None:
        result.checked_by_fd = True
        _, _, used = compare_full(arr, numeric[0], numeric[1], DEFAULT_RTOL)
        if not used <= 1.0:
            message = f"disagrees with finite differences (tolerance used {used:.3g})"
    result.max_abs, result.rel = max(result.max_abs, max_abs), max(result.rel, rel)
    if message and result.ok:
        result.ok, result.message, result.case = False, message, f"{case_no}: {case.describe()}"


def _upstream_names(exercise: Exercise) -> tuple:
    """The distinct upstream gradients' names, in order (an output without one left out)."""
    return tuple(dict.fromkeys(n for n in _upstream(exercise) if n is not None))


def split_by_path(exercise: Exercise, fn, prepared: Prepared) -> list:
    """For an exercise with two or more upstream gradients: rerun every case once per upstream
    gradient with the others set to zero, the reference recomputed for that case, and list
    per upstream gradient the quantities that are then wrong (a :class:`PathResult` each).
    ``[]`` for one upstream gradient, or when ``fn`` raises or returns the wrong number of
    values on such a case (the full report already says what is wrong)."""
    names = _upstream_names(exercise)
    if len(names) < 2:
        return []
    results = []
    for alone in names:
        zeroed = tuple(n for n in names if n != alone)
        wrong = set()
        for case in prepared.cases:
            args = {k: np.zeros_like(v) if k in zeroed else v for k, v in case.args.items()}
            solo = Case(args=args, inputs=case.inputs, factors=case.factors)
            ref = _as_tuple(exercise.reference(solo), exercise, f"the reference of {exercise.name}")
            try:
                got = _as_tuple(fn(**{k: _copy(v) for k, v in args.items()}), exercise, exercise.name)
            except Exception:  # noqa: BLE001 — the full report already shows the student's error
                return []
            for k, name in enumerate(exercise.outputs):
                arr = None if got[k] is None else _float_array(got[k], np.shape(ref[k]))
                if arr is None or not close(arr, np.asarray(ref[k])):
                    wrong.add(name)
        results.append(PathResult(alone, zeroed, tuple(n for n in exercise.outputs if n in wrong)))
    return results


def grade(exercise: Exercise, fn, *, seed: int = 0) -> Report:
    """Grade ``fn`` (the student's function, called as ``fn(**case.args)``) on the exercise's
    random cases. Returns a :class:`Report`; ``print(report)`` says what is wrong."""
    prepared = prepare(exercise, seed)
    results = [QuantityResult(name) for name in exercise.outputs]
    for i, (case, ref, num) in enumerate(zip(prepared.cases, prepared.references, prepared.numerics)):
        try:
            got = fn(**{k: _copy(v) for k, v in case.args.items()})
        except NotImplementedError:
            return Report(exercise.name, NOT_IMPLEMENTED)
        except Exception as exc:  # the student's bug: report it, do not crash the grader
            return Report(exercise.name, ERROR, detail=_student_error(exc, fn, i + 1, case))
        try:
            got = _as_tuple(got, exercise, exercise.name)
        except ValueError as exc:
            return Report(exercise.name, ERROR, detail=str(exc))
        terms = exercise.terms(case) if exercise.terms else {}
        for k, result in enumerate(results):
            _compare(result, got, k, ref, num.get(result.name), exercise, case, i + 1, terms)
    status = PASS if all(r.ok for r in results) else FAIL
    paths = split_by_path(exercise, fn, prepared) if status == FAIL else []
    return Report(exercise.name, status, results, cases=len(prepared.cases), paths=paths)
