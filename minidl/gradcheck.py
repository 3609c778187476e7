"""Gradient checking: compare a hand-written backward with finite differences.

For outputs ``y_k = f(inputs, params)`` and a *random* upstream gradient ``G_k`` (never
``sum(y)``, whose all-ones upstream hides transposes and swapped gates), the scalar

    L(θ) = Σ_k ⟨G_k, y_k(θ)⟩

has ``∂L/∂θ`` = exactly what backward computes when it is fed ``G``. Each element of
every input and parameter is nudged by ±ε and

    ∂L/∂θ_j ≈ (L(θ + ε e_j) − L(θ − ε e_j)) / 2ε          (central difference)

is compared with the analytic value ``a_j``. The numeric value ``n_j`` carries two errors
(derived in the gradient-checking chapter of the docs):

* truncation, ε²/6 · ∂³L/∂θ_j³: relative to the gradient, about 1e-12 at ε = 1e-6 for
  functions that vary on a unit scale, so a relative tolerance ``rtol = 1e-6`` covers it;
* round-off: each evaluation of L is off by about u · S, with u = 2⁻⁵³ the unit round-off
  and S = Σ_k Σ_i |G_k,i · y_k,i| (the sum of the magnitudes that L adds up), and the
  quotient divides that by ε. This is an *absolute* error, which no relative tolerance can
  absorb where a gradient is small, so ``atol = ROUNDOFF_SAFETY · u · S / ε``.

A tensor passes when every element satisfies ``|a − n| ≤ atol + rtol · |n|`` (mode
``"full"``). For a layer with many parameters, ``mode="direction"`` checks one random unit
direction ``v`` per tensor, two forwards instead of two per element, and asks
``|⟨a, v⟩ − n_v| ≤ atol + rtol · ‖a‖ · ‖v‖``: the scale is the largest value the projection
could have, not the projected number itself, which can be arbitrarily close to zero.

A check must be able to fail. A tensor whose true gradient is zero (or below the round-off
floor) everywhere passes whatever backward returns for it: a deleted gradient, a wrong sign
or a transpose all compare equal to zero. Such a tensor is reported as **not exercised**
and the check does not pass, unless the caller names it in ``allow_zero`` (a gradient that
is zero by construction, with the reason in the test). The rule: a tensor is exercised when
its numeric gradient has an element above ``EXERCISED_FACTOR · atol``, i.e. when the check
would catch that tensor's gradient being dropped (|0 − n| > atol + rtol·|n|).

The report prints, per tensor, the relative error ``‖a − n‖ / (‖a‖ + ‖n‖)`` (about 1e-9
for a correct float64 backward, 1e-2 or worse for a wrong one) and how much of the
tolerance its worst element used. Under a failing tensor (mode ``"full"``) it says what the
analytic gradient looks like against the numeric one (:func:`describe_mismatch`): all zero,
the transpose, a constant multiple (a flipped sign; ``1/k`` for an axis of size k, a mean
where a sum belongs), or how many elements are off and where the largest difference is.

Two entry points share the pieces below (analytic side, numeric side, comparison):
:func:`gradcheck` for a Module, :func:`gradcheck_pair` for a bare functional pair
``y, cache = forward(**arrays, **options)``, ``grads = backward(dy, cache)``.

The random numbers of a check (upstream gradients, redrawn parameters, directions) come
from ``default_rng([seed, GRADCHECK_STREAM])``: a stream apart from ``default_rng(seed)``,
which test inputs are usually drawn from. Were they the same stream, a layer without
parameters whose output has its input's shape would get its own input back as upstream
gradient, and a ReLU backward returning ``y`` instead of ``G ⊙ [x > 0]`` would pass.

Randomness inside forward (dropout) is made repeatable by re-seeding minidl's generators
with the same seed before every forward; minidl's global random state is restored after
the check.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field
from typing import Callable

from . import backend
from .errors import DTypeError, RangeError
from .module import Module, _flatten, no_grad

__all__ = [
    "gradcheck", "gradcheck_pair", "GradcheckReport", "GradcheckError",
    "UNIT_ROUNDOFF", "DEFAULT_EPS", "DEFAULT_RTOL", "ROUNDOFF_SAFETY",
    "objective_scale", "default_atol", "numeric_gradient", "numeric_directional",
    "compare_full", "compare_direction", "EXERCISED_FACTOR", "is_exercised", "GRADCHECK_STREAM",
    "describe_mismatch",
]

# --8<-- [start:tolerances]
UNIT_ROUNDOFF = 2.0**-53  # u: float64 rounds every operation to a relative error ≤ u
DEFAULT_EPS = 1e-6  # step of the central difference: truncation ~ε², round-off ~u/ε
DEFAULT_RTOL = 1e-6  # covers truncation (≈1e-12 relative) with 10⁶ to spare; a bug is 1e-4 or worse
ROUNDOFF_SAFETY = 100.0  # evaluated outputs are off by a few u each, not one: room for that
EXERCISED_FACTOR = 2.0  # a gradient this far above atol cannot compare equal to a dropped (zero) one


def default_atol(scale: float, eps: float, safety: float = ROUNDOFF_SAFETY) -> float:
    """The round-off floor of a central difference: ``safety · u · S / ε``.

    Each evaluation of ``L = Σ ⟨G, y⟩`` is off by about u·S, ``S = Σ |G ⊙ y|``; the
    difference quotient divides the error of ``L(θ+εv) − L(θ−εv)`` by 2ε.
    """
    return safety * UNIT_ROUNDOFF * scale / eps
# --8<-- [end:tolerances]


class GradcheckError(AssertionError):
    """A gradient disagrees with finite differences, or a backward returned the wrong set
    of gradients (raised by :meth:`GradcheckReport.assert_ok` and ``raise_on_fail``)."""


@dataclass
class GradcheckReport:
    """The outcome of a check, per tensor (``"input 0"``, ``"weight_ih_l0"``, ``"x"``, ...).

    ``errors[name]``: relative error ‖a − n‖ / (‖a‖ + ‖n‖) (direction mode: of the one
    projected number); ``max_abs[name]``: the largest |a − n|; ``used[name]``: the largest
    |a − n| / (atol + rtol·scale) over the tensor's elements, the fraction of the tolerance
    used. ``unexercised``: the tensors whose numeric gradient never rose above the round-off
    floor (the check could not have failed for them); ``allowed_zero``: those of them the
    caller declared zero by construction. ``mismatches[name]``: for a failing tensor, what
    its analytic gradient looks like against the numeric one (:func:`describe_mismatch`).
    ``ok`` is True when every ``used`` is at most 1 and every unexercised tensor is allowed.
    """

    errors: dict = field(default_factory=dict)
    max_abs: dict = field(default_factory=dict)
    used: dict = field(default_factory=dict)
    unexercised: list = field(default_factory=list)
    allowed_zero: list = field(default_factory=list)
    mismatches: dict = field(default_factory=dict)
    rtol: float = DEFAULT_RTOL
    atol: float = 0.0
    eps: float = DEFAULT_EPS
    scale: float = 0.0
    mode: str = "full"

    @property
    def tol(self) -> float:
        """The relative tolerance (the name of earlier versions)."""
        return self.rtol

    @property
    def ok(self) -> bool:
        # written as "not >" so that a NaN fails
        within = not any(not (u <= 1.0) for u in self.used.values())
        return within and not self.vacuous

    @property
    def vacuous(self) -> list:
        """The unexercised tensors that were not declared zero by construction."""
        return [n for n in self.unexercised if n not in self.allowed_zero]

    @property
    def worst(self) -> float:
        """The largest relative error over the checked tensors."""
        return max(self.errors.values(), default=0.0)

    def assert_ok(self) -> "GradcheckReport":
        """Raise :class:`GradcheckError` with the table if any tensor fails; else return self."""
        if not self.ok:
            raise GradcheckError(f"gradient check failed:\n{self}")
        return self

    def __str__(self) -> str:
        scale = "|n|" if self.mode == "full" else "‖a‖·‖v‖"
        head = (f"gradient check ({self.mode}, eps {self.eps:.0e}): |a − n| ≤ atol + rtol·{scale}, "
                f"atol {self.atol:.1e} (= {ROUNDOFF_SAFETY:g}·u·S/eps, S = Σ|G·y| = {self.scale:.2e}), "
                f"rtol {self.rtol:.0e}")
        width = max((len(n) for n in self.errors), default=6)
        lines = [head, f"{'tensor':<{width}}  rel.error  max|diff|  tol.used"]
        for name, e in self.errors.items():
            flag = "" if self.used[name] <= 1.0 else "  <-- FAIL"
            if name in self.unexercised:
                flag += ("  (zero by construction, allowed)" if name in self.allowed_zero else
                         "  <-- NOT EXERCISED: analytic and numeric gradients are both ~0, so this check "
                         "could not fail; change the inputs/parameters, or pass allow_zero=[...] if it is "
                         "zero by construction")
            lines.append(f"{name:<{width}}  {e:9.2e}  {self.max_abs[name]:9.2e}  {self.used[name]:8.2g}{flag}")
            if name in self.mismatches:
                lines.append(f"{'':<{width}}  ↳ {self.mismatches[name]}")
        return "\n".join(lines)


def _is_float_array(a) -> bool:
    return hasattr(a, "dtype") and hasattr(a, "shape") and a.dtype.kind == "f"


def _require_float64(named_arrays, hint: str) -> None:
    for name, a in named_arrays:
        if a.dtype.itemsize != 8:
            raise DTypeError(f"gradcheck: {name} must be float64, got {a.dtype} ({hint}): "
                             "float32's round-off divided by eps swamps any bug")


@contextlib.contextmanager
def _rng_state_kept():
    """Forwards are re-seeded during a check; give the caller its random state back."""
    state = backend.get_rng_state()
    try:
        yield
    finally:
        backend.set_rng_state(state)


@dataclass
class _Problem:
    """What the numeric side needs: the tensors to nudge (in place) with their analytic
    gradients, the objective L(θ) = Σ ⟨G_k, y_k⟩, and its round-off scale S."""

    tensors: dict  # name -> (array, analytic gradient of the same shape)
    objective: Callable[[], float]
    scale: float
    device: str


# --8<-- [start:objective]
def objective_scale(outputs, upstream) -> float:
    """S = Σ_k Σ_i |G_k,i · y_k,i|: the magnitudes L = Σ ⟨G_k, y_k⟩ adds up. The round-off of
    an evaluated L is a small multiple of u·S (however much the terms cancel)."""
    return sum(float(backend.get_array_module(y).abs(y * g).sum()) for y, g in zip(outputs, upstream))


def _inner(outputs, upstream) -> float:
    """L = Σ_k ⟨G_k, y_k⟩ (a host float)."""
    return sum(float(backend.get_array_module(y).sum(y * g)) for y, g in zip(outputs, upstream))
# --8<-- [end:objective]


def _check_gradient_shape(name, array, grad) -> None:
    if grad is None or tuple(grad.shape) != tuple(array.shape):
        got = None if grad is None else tuple(grad.shape)
        raise GradcheckError(f"gradcheck: the gradient of {name} must have its shape {tuple(array.shape)}, got {got}")


# ----------------------------------------------------------------------------- analytic side
def analytic_module(module: Module, inputs, *, forward_kwargs, check_params, check_inputs, randomize_params,
                    seed, rng) -> _Problem:
    """One forward and one backward of ``module`` with random upstream gradients: the
    analytic gradient of every floating input (in order) and parameter, and L(θ)."""
    float_inputs = [a for a in _flatten(inputs) if _is_float_array(a)]
    params = list(module.named_parameters()) if check_params else []
    _require_float64([(f"input {i}", a) for i, a in enumerate(float_inputs)] + [(n, p.data) for n, p in params],
                     "call module.double()")
    ref = float_inputs[0] if float_inputs else (params[0][1].data if params else None)
    device = backend.device_of(ref) if ref is not None else "cpu"
    if randomize_params:  # so that zero biases or unit scales cannot hide a missing term
        for _, p in params:
            p.data[...] = backend.to_device(rng.uniform(-0.5, 0.5, size=p.data.shape), device)

    def run_forward():
        backend.manual_seed(seed)  # the same dropout mask on every evaluation
        return [o for o in _flatten(module(*inputs, **forward_kwargs)) if _is_float_array(o)]

    module.clear_caches()
    module.zero_grad()
    outputs = run_forward()
    upstream = [backend.to_device(rng.standard_normal(o.shape), device) for o in outputs]
    scale = objective_scale(outputs, upstream)  # before backward, which may consume its cache
    returned = module.backward(*upstream)
    returned = _flatten(returned) if isinstance(returned, (tuple, list)) else [returned]
    tensors = {}
    for i, a in enumerate(float_inputs):
        if check_inputs is None or i in check_inputs:
            g = returned[i] if i < len(returned) else None
            tensors[f"input {i}"] = (a, backend.get_array_module(a).zeros_like(a) if g is None else g)
    for name, p in params:
        tensors[name] = (p.data, p.grad.copy())
    for name, (a, g) in tensors.items():
        _check_gradient_shape(name, a, g)

    def objective() -> float:
        with no_grad():
            return _inner(run_forward(), upstream)

    return _Problem(tensors, objective, scale, device)


def analytic_pair(forward, backward, arrays: dict, options: dict, *, wrt, seed, rng) -> _Problem:
    """One call of ``forward(**arrays, **options)`` and of ``backward(dy, cache)`` with a
    random ``dy`` (None for an output that is not floating): the gradients of ``wrt``."""
    floats = {k: a for k, a in arrays.items() if _is_float_array(a)}
    names = list(floats) if wrt is None else list(wrt)
    unknown = [n for n in names if n not in floats]
    if unknown:
        raise RangeError(f"gradcheck_pair: wrt names {unknown}, which are not floating arrays among the "
                         f"arguments {sorted(arrays)}")
    _require_float64([(repr(n), floats[n]) for n in names], "build the arrays in float64")
    device = backend.device_of(floats[names[0]]) if names else "cpu"

    def run_forward():
        backend.manual_seed(seed)
        return forward(**arrays, **options)

    def upstream_like(y):  # dy has y's structure: a random array per floating output, else None
        if isinstance(y, (tuple, list)):
            return tuple(upstream_like(o) for o in y)
        return backend.to_device(rng.standard_normal(y.shape), device) if _is_float_array(y) else None

    def live(y, dy):  # the (output, upstream) pairs that enter L
        return [(o, g) for o, g in zip(_flatten(y), _flatten(dy)) if g is not None]

    y, cache = run_forward()
    dy = upstream_like(y)
    scale = objective_scale(*zip(*live(y, dy))) if live(y, dy) else 0.0
    grads = backward(dy, cache)
    if not isinstance(grads, dict):
        raise GradcheckError(f"gradcheck_pair: backward must return a dict keyed by argument names, "
                             f"got {type(grads).__name__}")
    stray = sorted(set(grads) - set(arrays))
    missing = [n for n in names if n not in grads]
    if stray or missing:
        raise GradcheckError(f"gradcheck_pair: backward's gradients must be keyed by the forward's argument "
                             f"names; missing {missing}, not arguments {stray} (pass wrt=[...] to leave out a "
                             "non-differentiated argument such as a loss target)")
    tensors = {n: (floats[n], grads[n]) for n in names}
    for n, (a, g) in tensors.items():
        _check_gradient_shape(repr(n), a, g)

    def objective() -> float:
        pairs = live(run_forward()[0], dy)
        return _inner(*zip(*pairs)) if pairs else 0.0

    return _Problem(tensors, objective, scale, device)


# ----------------------------------------------------------------------------- numeric side
# --8<-- [start:numeric]
def numeric_gradient(array, objective: Callable[[], float], eps: float):
    """∂L/∂array by central differences, one element at a time (two objectives each).

    ``array`` is nudged in place through a flat view and restored exactly. The quotient
    divides by the step actually taken, (θ+ε) − (θ−ε) in floating point, not by 2ε.
    """
    if not array.flags["C_CONTIGUOUS"]:
        raise RangeError("gradcheck nudges tensors in place through a flat view: they must be C-contiguous")
    numeric = backend.get_array_module(array).zeros_like(array)
    flat, num_flat = array.reshape(-1), numeric.reshape(-1)  # views: writing nudges the tensor
    for j in range(array.size):
        old = float(flat[j])
        up, down = old + eps, old - eps
        flat[j] = up
        plus = objective()
        flat[j] = down
        minus = objective()
        flat[j] = old
        num_flat[j] = (plus - minus) / (up - down)
    return numeric


def numeric_directional(array, direction, objective: Callable[[], float], eps: float) -> float:
    """⟨∂L/∂array, v⟩ ≈ (L(θ + εv) − L(θ − εv)) / 2ε for a direction v of array's shape."""
    original = array.copy()
    array[...] = original + eps * direction
    plus = objective()
    array[...] = original - eps * direction
    minus = objective()
    array[...] = original
    return (plus - minus) / (2 * eps)
# --8<-- [end:numeric]


# ----------------------------------------------------------------------------- comparison
# --8<-- [start:compare]
def _rel_error(xp, a, n) -> float:
    """‖a − n‖ / (‖a‖ + ‖n‖): in [0, 1], ~1e-9 for a right float64 backward, ≥1e-2 for a bug."""
    diff = float(xp.linalg.norm((a - n).ravel()))
    scale = float(xp.linalg.norm(a.ravel())) + float(xp.linalg.norm(n.ravel()))
    return diff / scale if scale > 1e-300 else diff


def compare_full(analytic, numeric, atol: float, rtol: float) -> tuple[float, float, float]:
    """``(relative error, max |a − n|, tolerance used)``; passes when every element has
    |a − n| ≤ atol + rtol·|n|, i.e. when the tolerance used is at most 1."""
    xp = backend.get_array_module(analytic)
    if analytic.size == 0:
        return 0.0, 0.0, 0.0
    diff = xp.abs(analytic - numeric)
    allowed = atol + rtol * xp.abs(numeric)
    used = float(xp.max(diff / xp.maximum(allowed, 1e-300)))
    return _rel_error(xp, analytic, numeric), float(xp.max(diff)), used


def compare_direction(exact: float, numeric: float, grad_norm: float, direction_norm: float, atol: float,
                      rtol: float) -> tuple[float, float, float]:
    """As :func:`compare_full` for one projected value: |⟨a, v⟩ − n_v| ≤ atol + rtol·‖a‖·‖v‖.

    The relative part scales with the largest value ⟨a, v⟩ could take (Cauchy–Schwarz), not
    with ⟨a, v⟩ itself: a direction nearly orthogonal to the gradient gives a tiny number
    whose round-off, relative to it, says nothing about the backward."""
    diff = abs(exact - numeric)
    allowed = max(atol + rtol * grad_norm * direction_norm, 1e-300)
    size = abs(exact) + abs(numeric)
    return (diff / size if size > 1e-300 else diff), diff, diff / allowed
# --8<-- [end:compare]


def _multiple_message(c: float, sizes) -> str:
    """Words for analytic = c · numeric, c ≠ 1."""
    sign = ", and the sign is flipped" if c < 0 else ""
    a = abs(c)
    k = round(1 / a) if a < 1 else 0
    if k >= 2 and abs(1 / a - k) < 1e-6 * k:
        why = (f": a mean over an axis of size {k} where a sum belongs, or an extra 1/{k}?" if k in sizes else
               f": an extra 1/{k}?")
        return f"analytic = numeric / {k}{sign}{why}"
    k = round(a)
    if k >= 2 and abs(a - k) < 1e-6 * k:
        why = f" (a sum over an axis of size {k} where a mean belongs?)" if k in sizes else ""
        times = "twice" if k == 2 else f"{k} times"
        return f"analytic = {k} × numeric{sign}: a term counted {times}, or a 1/{k} left out?{why}"
    return f"analytic = {c:.4g} × numeric{sign}: off by a constant factor"


def _unravel(flat: int, shape) -> tuple:
    """The index tuple of element ``flat`` of a C-ordered array of ``shape`` (host arithmetic)."""
    at = []
    for size in reversed(shape):
        flat, i = divmod(flat, size)
        at.append(i)
    return tuple(reversed(at))


def describe_mismatch(analytic, numeric, atol: float, rtol: float, sizes=()) -> str:
    """What a failing tensor's analytic gradient ``a`` looks like against the numeric ``n``, in
    one line, judged with the check's own tolerance (``|a' − n| ≤ atol + rtol·|n|``):

    * all zero: nothing reaches this tensor in backward;
    * the transpose of ``n`` (a square gradient);
    * ``c · n`` for one number c: the sign flipped (c = −1), ``n / k`` with k an axis size
      of the checked arrays (``sizes``): a mean where a sum belongs; ``k · n``;
    * otherwise how many elements are beyond the tolerance and where the largest
      difference is (one row, one time step, one gate: the index says which).
    """
    xp = backend.get_array_module(analytic)

    def fits(candidate) -> bool:
        return compare_full(candidate, numeric, atol, rtol)[2] <= 1.0

    if not bool(xp.any(analytic)):
        return "analytic is all zero: nothing reaches this tensor in backward"
    if analytic.ndim == 2 and analytic.shape[0] == analytic.shape[1] and fits(analytic.T):
        return "analytic is the transpose of numeric: a product taken the wrong way round?"
    nn = float(xp.vdot(numeric.ravel(), numeric.ravel()))
    if nn > 0:
        c = float(xp.vdot(analytic.ravel(), numeric.ravel())) / nn
        if c != 0 and abs(c - 1) > 1e-6 and fits(analytic / c):
            return "sign flipped: analytic = −numeric" if abs(c + 1) < 1e-6 else _multiple_message(c, set(sizes))
    diff = xp.abs(analytic - numeric)
    off = diff > atol + rtol * xp.abs(numeric)
    at = _unravel(int(xp.argmax(diff)), diff.shape)
    where = at if len(at) != 1 else at[0]
    return (f"{int(xp.count_nonzero(off))} of {analytic.size} elements beyond the tolerance; the largest "
            f"difference at index {where}: analytic {float(analytic[at]):.6g}, numeric {float(numeric[at]):.6g}")


# ----------------------------------------------------------------------------- orchestration
def is_exercised(numeric, atol: float) -> bool:
    """Could the check fail for this tensor? Yes when some element of the numeric gradient
    (or the one projected value, in direction mode) exceeds ``EXERCISED_FACTOR · atol``: a
    backward that dropped this gradient (returned 0) would then be caught."""
    if isinstance(numeric, float):
        return abs(numeric) > EXERCISED_FACTOR * atol
    xp = backend.get_array_module(numeric)
    return numeric.size > 0 and float(xp.max(xp.abs(numeric))) > EXERCISED_FACTOR * atol


def check_problem(problem: _Problem, *, mode: str, eps: float, rtol: float, atol: float | None, rng,
                  allow_zero=()) -> GradcheckReport:
    """The numeric side and the comparison for every tensor of ``problem``."""
    if atol is None:
        atol = default_atol(problem.scale, eps)
    unknown = sorted(set(allow_zero) - set(problem.tensors))
    if unknown:
        raise RangeError(f"gradcheck: allow_zero names {unknown}, which are not checked tensors "
                         f"{sorted(problem.tensors)}")
    report = GradcheckReport(rtol=rtol, atol=atol, eps=eps, scale=problem.scale, mode=mode,
                             allowed_zero=list(allow_zero))
    for name, (array, grad) in problem.tensors.items():
        xp = backend.get_array_module(array)
        if mode == "full":
            numeric = numeric_gradient(array, problem.objective, eps)
            result = compare_full(grad, numeric, atol, rtol)
        else:
            v = backend.to_device(rng.standard_normal(array.shape), problem.device)
            v = v / xp.linalg.norm(v.ravel())
            numeric = numeric_directional(array, v, problem.objective, eps)
            exact = float(xp.sum(grad * v))
            result = compare_direction(exact, numeric, float(xp.linalg.norm(grad.ravel())), 1.0, atol, rtol)
        report.errors[name], report.max_abs[name], report.used[name] = result
        if array.size and not is_exercised(numeric, atol):
            report.unexercised.append(name)
        if not result[2] <= 1.0 and mode == "full":
            sizes = {int(k) for a, _ in problem.tensors.values() for k in a.shape}
            report.mismatches[name] = describe_mismatch(grad, numeric, atol, rtol, sizes)
        elif not result[2] <= 1.0:
            report.mismatches[name] = ("one direction cannot say where: mode='full' (on a smaller input if this "
                                       "one is large) says what the difference looks like")
    return report


# The upstream gradients and directions come from a stream of their own: seeded with ``seed``
# alone it would be numpy's ``default_rng(seed)``, the very stream most tests draw their inputs
# from, and for a parameterless layer whose output has its input's shape (ReLU, BatchNorm without
# affine) the upstream G would *equal* the input x. A backward that returned G ⊙ mask = y instead
# of the true gradient would then pass.  The tag (b"grad" as an int) makes the stream another one.
GRADCHECK_STREAM = 0x67726164


def _check_rng(seed: int):
    """The host generator a check draws its upstream gradients, random parameters and
    directions from: ``default_rng([seed, GRADCHECK_STREAM])``, the same on every device and
    never the stream of ``default_rng(seed)``."""
    return backend.new_host_rng([int(seed), GRADCHECK_STREAM])


def _settings(mode, rtol, tol):
    if mode not in ("full", "direction"):
        raise RangeError(f"gradcheck: mode must be 'full' or 'direction', got {mode!r}")
    return rtol if tol is None else tol


def gradcheck(
    module: Module,
    *inputs,
    eps: float = DEFAULT_EPS,
    rtol: float = DEFAULT_RTOL,
    atol: float | None = None,
    seed: int = 0,
    mode: str = "full",
    check_params: bool = True,
    check_inputs=None,
    randomize_params: bool = False,
    forward_kwargs: dict | None = None,
    raise_on_fail: bool = False,
    tol: float | None = None,
    allow_zero=(),
) -> GradcheckReport:
    """Check ``module.backward`` against central differences of ``module.forward``.

    ``gradcheck(forward, backward, arrays, options)`` checks a bare functional pair instead
    (the same as :func:`gradcheck_pair`, with ``check_inputs`` as its ``wrt``).

    Args:
        module: a float64 Module (call ``.double()`` first).
        *inputs: forward's positional inputs; nested tuples are allowed (``(h0, c0)``).
            Floating arrays are checked; integer arrays (token ids, labels, lengths) and
            ``None`` are passed through.
        eps: the central-difference step.
        rtol, atol: pass when ``|a − n| ≤ atol + rtol·|n|`` per element (direction mode:
            ``rtol·‖a‖``); ``atol=None`` derives the round-off floor
            ``ROUNDOFF_SAFETY·u·Σ|G·y|/eps`` (see :func:`default_atol`). ``tol`` is the old
            name of ``rtol``.
        mode: ``"full"`` (every element) or ``"direction"`` (one random unit direction per
            tensor, for big layers).
        randomize_params: first redraw every parameter from U(−0.5, 0.5), so that zero
            biases or unit scales cannot hide a missing term.
        seed: seeds the check's own random stream (upstream gradients, redrawn parameters,
            directions; never the stream of ``default_rng(seed)`` a test may draw its input
            from) and minidl's generators before every forward (dropout's masks).
        forward_kwargs: keyword arguments for forward (e.g. ``lengths=...``).
        check_inputs: indices (among the floating inputs) to check; default all. A loss's
            float target, for instance, is an input but not differentiated: ``[0]``.
        allow_zero: names of checked tensors (``"input 1"``, ``"bias_hh_l0"``) whose gradient
            is zero by construction; any other tensor whose analytic and numeric gradients
            are both ~0 makes the check fail as *not exercised* (it could not have failed).

    Returns:
        A :class:`GradcheckReport` (``report.ok``, ``report.errors``, ``print(report)``).
        With ``raise_on_fail`` a failing check raises :class:`GradcheckError`.

    The backward receives one random upstream gradient per floating output (in the
    flattened order of the outputs); its returned gradients are matched, in order, to
    the floating inputs (extra returned gradients, e.g. for an initial state that was not
    passed, are ignored).
    """
    rtol = _settings(mode, rtol, tol)
    if not isinstance(module, Module):  # gradcheck(forward, backward, arrays[, options]): a bare pair
        if callable(module) and 2 <= len(inputs) <= 3 and callable(inputs[0]) and isinstance(inputs[1], dict):
            return gradcheck_pair(module, *inputs, wrt=check_inputs, eps=eps, rtol=rtol, atol=atol, seed=seed,
                                  mode=mode, raise_on_fail=raise_on_fail, allow_zero=allow_zero)
        raise DTypeError(f"gradcheck: module must be a Module, or the pair (forward, backward, arrays[, options]), "
                         f"got {type(module).__name__}")
    with _rng_state_kept():
        rng = _check_rng(seed)
        problem = analytic_module(module, inputs, forward_kwargs=dict(forward_kwargs or {}), check_params=check_params,
                                  check_inputs=check_inputs, randomize_params=randomize_params, seed=seed, rng=rng)
        report = check_problem(problem, mode=mode, eps=eps, rtol=rtol, atol=atol, rng=rng, allow_zero=allow_zero)
    module.clear_caches()
    if raise_on_fail:
        report.assert_ok()
    return report


def gradcheck_pair(
    forward: Callable,
    backward: Callable,
    arrays: dict,
    options: dict | None = None,
    *,
    wrt=None,
    eps: float = DEFAULT_EPS,
    rtol: float = DEFAULT_RTOL,
    atol: float | None = None,
    seed: int = 0,
    mode: str = "full",
    raise_on_fail: bool = False,
    allow_zero=(),
) -> GradcheckReport:
    """Check a bare functional pair (the contract of ``minidl.functional``)::

        y, cache = forward(**arrays, **options)     # y: an array or a tuple of arrays
        grads = backward(dy, cache)                 # dy: the structure of y; grads: a dict

    Args:
        arrays: the forward's array arguments by name, e.g. ``{"x": x, "weight": W,
            "bias": b}``; integer arrays (ids, targets, lengths) pass through unchecked.
            The floating ones are nudged in place (and restored).
        options: the forward's other keyword arguments (``{"reduction": "sum"}``).
        wrt: names of the arrays to check; default every floating array. Leave out a
            floating argument that is not differentiated (a loss target): ``wrt=["x"]``.
        eps, rtol, atol, seed, mode, raise_on_fail, allow_zero: as in :func:`gradcheck`
            (``allow_zero`` by argument name, e.g. ``["bias"]``).

    The backward gets a random ``dy`` for every floating output (``None`` for the others)
    and must return a gradient for every name in ``wrt``, keyed by that name and of that
    array's shape, and no key that is not an argument; otherwise :class:`GradcheckError`.
    """
    rtol = _settings(mode, rtol, None)
    with _rng_state_kept():
        rng = _check_rng(seed)
        problem = analytic_pair(forward, backward, dict(arrays), dict(options or {}), wrt=wrt, seed=seed, rng=rng)
        report = check_problem(problem, mode=mode, eps=eps, rtol=rtol, atol=atol, rng=rng,
                               allow_zero=list(allow_zero))
    if raise_on_fail:
        report.assert_ok()
    return report
