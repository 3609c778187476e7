"""A pytest plugin (``-p gradcheck_margins``, with tests/ on PYTHONPATH) that records how much
of its tolerance every gradient check used, to show the tolerance's margins.

For each checked tensor it records ``max |a − n|``, the round-off unit ``u·S/eps`` of the
check, ``kappa_needed`` (the smallest multiple of ``u·S/eps`` that, with the same ``rtol``,
would still pass every element: ``ROUNDOFF_SAFETY`` allows 100) and ``used`` (≤ 1 passes).
At the end of the session it prints a summary and, when the environment variable
``GRADCHECK_MARGINS_OUT`` names a file, writes it there as JSON.
"""

from __future__ import annotations

import json
import os
import sys

import minidl.gradcheck  # noqa: F401  (the package's ``gradcheck`` name is the function)

_G = sys.modules["minidl.gradcheck"]
_RECORDS: list[dict] = []
_CURRENT_TEST = [""]
_original = _G.check_problem
_compare_full, _compare_direction = _G.compare_full, _G.compare_direction
_BEYOND_RTOL: list[float] = []  # per compared tensor: max(|a − n| − rtol·scale, 0), in order
_describe = _G.describe_mismatch
_DESCRIBING = [False]  # describe_mismatch compares candidates (a transpose, a multiple): not a tensor's check


def _full(analytic, numeric, atol, rtol):
    if not _DESCRIBING[0]:
        a, n = _G.backend.asnumpy(analytic), _G.backend.asnumpy(numeric)
        _BEYOND_RTOL.append(float((abs(a - n) - rtol * abs(n)).max(initial=0.0)))
    return _compare_full(analytic, numeric, atol, rtol)


def _direction(exact, numeric, grad_norm, direction_norm, atol, rtol):
    _BEYOND_RTOL.append(max(abs(exact - numeric) - rtol * grad_norm * direction_norm, 0.0))
    return _compare_direction(exact, numeric, grad_norm, direction_norm, atol, rtol)


def _describing(*args, **kwargs):
    _DESCRIBING[0] = True
    try:
        return _describe(*args, **kwargs)
    finally:
        _DESCRIBING[0] = False


def pytest_runtest_setup(item):
    _CURRENT_TEST[0] = item.nodeid


def _recording_check_problem(problem, *, mode, eps, rtol, atol, rng, **options):  # options: allow_zero, ...
    _BEYOND_RTOL.clear()
    report = _original(problem, mode=mode, eps=eps, rtol=rtol, atol=atol, rng=rng, **options)
    unit = _G.UNIT_ROUNDOFF * problem.scale / eps
    # one comparison per tensor, in the report's order: anything else would pair a tensor with
    # another's numbers (as the candidates of describe_mismatch once did, unnoticed)
    assert len(_BEYOND_RTOL) == len(report.errors), (len(_BEYOND_RTOL), list(report.errors))
    for name, beyond in zip(report.errors, _BEYOND_RTOL):
        diff = report.max_abs[name]
        grad = problem.tensors[name][1]
        _RECORDS.append({"test": _CURRENT_TEST[0], "mode": mode, "eps": eps, "tensor": name, "S": problem.scale,
                         "max_abs": diff, "grad_max": float(abs(_G.backend.asnumpy(grad)).max()) if grad.size else 0.0,
                         "roundoff_multiple": diff / unit if unit else 0.0,
                         "kappa_needed": beyond / unit if unit else 0.0,
                         "used": report.used[name], "rel": report.errors[name]})
    return report


_G.check_problem = _recording_check_problem
_G.compare_full, _G.compare_direction, _G.describe_mismatch = _full, _direction, _describing


def summary() -> dict:
    """Per mode: how many tensors, the largest round-off multiple, the largest tolerance used."""
    out = {}
    for mode in ("full", "direction"):
        rows = [r for r in _RECORDS if r["mode"] == mode and r["used"] <= 1]  # passing checks only
        failing = [r for r in _RECORDS if r["mode"] == mode and not r["used"] <= 1]
        out[mode] = {
            "tensors": len(rows),
            "failing_tensors": len(failing),  # a test that expects a failure (a planted bug) adds here
            "max_roundoff_multiple": max((r["roundoff_multiple"] for r in rows), default=0.0),
            "max_kappa_needed": max((r["kappa_needed"] for r in rows), default=0.0),
            "max_used": max((r["used"] for r in rows), default=0.0),
            "max_rel": max((r["rel"] for r in rows), default=0.0),
            # where the extremes came from (a large relative error of a passing tensor is one
            # whose gradient is itself at the round-off floor: compare grad_max with max_abs)
            "worst_used": max(rows, key=lambda r: r["used"], default=None),
            "worst_roundoff": max(rows, key=lambda r: r["roundoff_multiple"], default=None),
            "worst_kappa": max(rows, key=lambda r: r["kappa_needed"], default=None),
            "worst_rel": max(rows, key=lambda r: r["rel"], default=None),
        }
    return out


def pytest_terminal_summary(terminalreporter):
    s = summary()
    terminalreporter.write_line(f"gradcheck margins: {json.dumps(s)}")
    path = os.environ.get("GRADCHECK_MARGINS_OUT")
    if path:
        with open(path, "w") as f:
            json.dump(s, f, indent=1)
