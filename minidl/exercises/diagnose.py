"""Say *what* is wrong with one returned quantity S, given the right value G.

The checks run in this order, the first that fits gives the message:

1. nothing returned, not an array, NaN or inf;
2. the shape: the transpose of G's shape ("looks transposed"), or G's shape with an extra
   leading axis whose sum is G ("did you forget to sum over the batch?");
3. S = G (within the tolerance below): right;
4. S = Gᵀ (a square gradient whose values are the transpose);
5. S = c·G for one number c: c = −1 is a flipped sign; c = 1/f ("did you forget the factor
   f?") or c = f ("an extra factor f?") for a named factor f of the case (1/N, 1/q);
   c = ½ or 2 asks about a 1/2;
6. S = G − T_k for a declared term T_k: "missing term: k"; S = G − 2T_k: k's sign;
7. declared gate blocks: which blocks are off, and how (each block checked as 4–5);
8. S = G ⊙ c with one factor per column (a per-feature scale such as γ missing);
9. otherwise: the values differ, at how many elements, and where the largest error is;
   for a quantity with a time axis, at which steps it is right and at which wrong, and with
   an axis of padded sequences, for which sequences.

A float32 (or float16) answer that fails is also told to compute in float64.

"Equal" means ``|S − G| ≤ ATOL_FRACTION·max|G| + RTOL·|G|`` element by element: both sides
are float64 evaluations of the same formula in a different order, so they agree to about
1e-15 relative; 1e-7 leaves a wide margin and still catches any real mistake.
"""

from __future__ import annotations

import numpy as np

__all__ = ["RTOL", "ATOL_FRACTION", "close", "diagnose", "errors"]

RTOL = 1e-7
ATOL_FRACTION = 1e-9  # of max|G|: an absolute floor for elements that are ~0 on both sides


def _elementwise_close(s, g):
    atol = ATOL_FRACTION * max(float(np.max(np.abs(g), initial=0.0)), 1e-300)
    return np.abs(s - g) <= atol + RTOL * np.abs(g)


def close(s, g) -> bool:
    """S equals G within the tolerance (same shape, every element)."""
    return s.shape == g.shape and bool(np.all(_elementwise_close(s, g)))


def errors(s, g) -> tuple[float, float]:
    """``(max |S − G|, ‖S − G‖ / (‖S‖ + ‖G‖))``; ``(inf, 1)`` when they cannot be compared."""
    if s is None or s.shape != g.shape or not np.all(np.isfinite(s)):
        return float("inf"), 1.0
    diff = s - g
    scale = float(np.linalg.norm(s)) + float(np.linalg.norm(g))
    return float(np.max(np.abs(diff), initial=0.0)), (float(np.linalg.norm(diff)) / scale if scale else 0.0)


def _as_array(s):
    if s is None:
        return None, "not returned (None)"
    try:
        return np.asarray(s, dtype=np.float64), None
    except (TypeError, ValueError):
        return None, f"not an array (got {type(s).__name__})"


def _shape_problem(s, g) -> str:
    want, got = tuple(g.shape), tuple(s.shape)
    head = f"wrong shape: expected {want}, got {got}"
    if s.ndim == 2 and got == want[::-1]:
        same = " (the values are right, transposed)" if close(s.T, g) else ""
        return f"{head} — looks transposed{same}"
    if got[1:] == want and close(s.sum(axis=0), g):
        return f"{head} — its sum over axis 0 is right: did you forget to sum over the batch?"
    if s.size == g.size:
        return f"{head} — the same number of elements: a reshape or a transpose?"
    return f"{head} (a gradient has the shape of what it differentiates)"


def _factor_message(c: float, factors: dict) -> str:
    sign = ", and the sign is flipped" if c < 0 else ""
    a = abs(c)
    for name, f in factors.items():
        if np.isclose(a, 1.0 / f, rtol=1e-6):
            return f"off by a factor {c:.4g} — did you forget the factor {name}{sign}?"
        if np.isclose(a, f, rtol=1e-6):
            return f"off by a factor {c:.4g} — an extra factor {name}{sign}?"
    if np.isclose(a, 0.5) or np.isclose(a, 2.0):
        return f"off by a factor {c:.4g} — a missing 1/2 or 2{sign}?"
    return f"off by a constant factor {c:.4g}"


def _scaled(s, g, factors: dict) -> str | None:
    """S = c·G for one c ≠ 1: the sign, or a named or common factor."""
    gg = float(np.vdot(g, g))
    if gg == 0.0:
        return None
    c = float(np.vdot(s, g)) / gg
    if not close(s, c * g) or np.isclose(c, 1.0, rtol=1e-6):
        return None
    if np.isclose(c, -1.0, rtol=1e-6):
        return "sign flipped: you return −(the right value)"
    return _factor_message(c, factors)


def _per_column(s, g) -> str | None:
    """S = G ⊙ c with one factor c_j per column (last axis), not all equal: a per-feature
    scale (such as BatchNorm's γ) missing or extra."""
    if g.ndim < 2 or g.shape[-1] < 2:
        return None
    G, S = g.reshape(-1, g.shape[-1]), s.reshape(-1, g.shape[-1])
    gg = np.einsum("nc,nc->c", G, G)
    if np.any(gg == 0):
        return None
    c = np.einsum("nc,nc->c", S, G) / gg
    if not close(s, g * c) or np.allclose(c, c[0], rtol=1e-6):
        return None
    shown = ", ".join(f"{v:.3g}" for v in c[:6]) + (", …" if c.size > 6 else "")
    return f"off by a different factor in each column (last axis): [{shown}] — a per-feature scale missing or extra?"


def _terms(s, g, terms: dict) -> str | None:
    for name, t in terms.items():
        if close(s, g - t):
            return f"missing term: {name}"
        if close(s, g - 2 * t):
            return f"the term {name} has the wrong sign"
    if len(terms) > 1:
        for name, t in terms.items():
            if close(s, t):
                return f"only the term {name}: the others are missing"
    return None


def _low_precision(dtype) -> str:
    if dtype is not None and getattr(dtype, "kind", "") == "f" and dtype.itemsize < 8:
        return f" (you return {dtype}: compute in float64, the grader's tolerance is float64's)"
    return ""


def _largest(s, g) -> str:
    diff = np.abs(s - g)
    at = np.unravel_index(int(np.argmax(diff)), diff.shape)
    where = tuple(int(i) for i in at)
    wrong = int(np.count_nonzero(~_elementwise_close(s, g)))
    return (f"values differ at {wrong} of {g.size} elements; the largest error is at index {where}: "
            f"expected {g[at] + 0.0:.6g}, got {s[at] + 0.0:.6g}")


def _spans(steps: list) -> str:
    """[0, 1, 2, 5] -> "0…2, 5"."""
    parts, start = [], None
    for k, t in enumerate(steps):
        if start is None:
            start = t
        if k + 1 == len(steps) or steps[k + 1] != t + 1:
            parts.append(f"{start}" if start == t else f"{start}…{t}")
            start = None
    return ", ".join(parts)


def _along(s, g, axis: int, what: str, letter: str) -> tuple:
    """"; by WHAT: right at LETTER = …, wrong at LETTER = …" when some slices along ``axis`` are
    right and some wrong ("" otherwise), and the indices that are right."""
    n = g.shape[axis]
    ok = [close(np.take(s, k, axis=axis), np.take(g, k, axis=axis)) for k in range(n)]
    if n < 2 or all(ok) or not any(ok):
        return "", []
    right, wrong = [k for k in range(n) if ok[k]], [k for k in range(n) if not ok[k]]
    return f"; by {what}: right at {letter} = {_spans(right)}, wrong at {letter} = {_spans(wrong)}", right


def _by_step(s, g, axis: int) -> str:
    """The time axis's line of :func:`_along`, and what "right at the last step only" points to."""
    text, right = _along(s, g, axis, "step", "t")
    if right == [g.shape[axis] - 1]:
        text += " (the last step only: look at what ∂L/∂h_t receives at the steps before it)"
    return text


def _blocks(s, g, blocks) -> str | None:
    if g.shape[blocks.axis] % len(blocks.names):
        return None
    wrong, right = [], []
    for name, sb, gb in zip(blocks.names, np.split(s, len(blocks.names), axis=blocks.axis),
                            np.split(g, len(blocks.names), axis=blocks.axis)):
        if close(sb, gb):
            right.append(name)
        else:
            how = _simple(sb, gb, {}) or "values differ"
            wrong.append(f"{name} ({how})")
    if not right:
        return None  # every block is off: the block view says nothing the whole view does not
    return f"wrong gate blocks: {', '.join(wrong)}; right: {', '.join(right)}"


def _simple(s, g, factors) -> str | None:
    if s.ndim == 2 and s.shape[0] == s.shape[1] and not close(g, g.T) and close(s, g.T):
        return "equals the transpose of the right value (a transposed product?)"
    if not np.any(s) and np.any(g):
        return "all zeros: nothing reaches this quantity in your code"
    return _scaled(s, g, factors)


def diagnose(s, g, *, terms: dict | None = None, blocks=None, factors: dict | None = None,
             step_axis: int | None = None, sequence_axis: int | None = None) -> str | None:
    """None when S equals G; otherwise one line saying what is wrong (see the module doc).

    ``terms``: named parts of G; ``blocks``: a :class:`~minidl.exercises.spec.Blocks`;
    ``factors``: named factors of the case (``{"1/N (N = 4, the batch size)": 0.25}``);
    ``step_axis``: G's time axis, if it has one; ``sequence_axis``: its axis of padded sequences.
    """
    dtype = getattr(s, "dtype", None)
    s, problem = _as_array(s)
    if problem:
        return problem
    if s.shape != g.shape:
        return _shape_problem(s, g)
    if not np.all(np.isfinite(s)):
        return "contains NaN or inf"
    if close(s, g):
        return None
    message = _simple(s, g, factors or {}) or (_terms(s, g, terms) if terms else None)
    if message is None and blocks is not None:
        message = _blocks(s, g, blocks)
    if message is None:
        message = _per_column(s, g) or (_largest(s, g) + ("" if step_axis is None else _by_step(s, g, step_axis))
                                        + ("" if sequence_axis is None else
                                           _along(s, g, sequence_axis, "sequence", "b")[0]))
    return message + _low_precision(dtype)
