"""A pytest plugin (``-p gradcheck_margins``, with tests/ on PYTHONPATH) that records how much
of its tolerance every gradient check used, to show the tolerance's margins.

For each checked tensor it records ``max |a − n|``, the round-off unit ``u·S/eps`` of the
check and their ratio (the round-off multiple the check needed: ``ROUNDOFF_SAFETY`` allows
100), and ``used`` (≤ 1 passes). At the end of the session it prints a summary and, when
the environment variable ``GRADCHECK_MARGINS_OUT`` names a file, writes it there as JSON.
"""

from __future__ import annotations

import json
import os
import sys

import minidl.gradcheck  # noqa: F401  (the package's ``gradcheck`` name is the function)

_G = sys.modules["minidl.gradcheck"]
_RECORDS: list[dict] = []
_original = _G.check_problem


def _recording_check_problem(problem, *, mode, eps, rtol, atol, rng):
    report = _original(problem, mode=mode, eps=eps, rtol=rtol, atol=atol, rng=rng)
    unit = _G.UNIT_ROUNDOFF * problem.scale / eps
    for name in report.errors:
        diff = report.max_abs[name]
        _RECORDS.append({"mode": mode, "eps": eps, "tensor": name, "S": problem.scale, "max_abs": diff,
                         "roundoff_multiple": diff / unit if unit else 0.0,
                         "used": report.used[name], "rel": report.errors[name]})
    return report


_G.check_problem = _recording_check_problem


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
            "max_used": max((r["used"] for r in rows), default=0.0),
            "max_rel": max((r["rel"] for r in rows), default=0.0),
        }
    return out


def pytest_terminal_summary(terminalreporter):
    s = summary()
    terminalreporter.write_line(f"gradcheck margins: {json.dumps(s)}")
    path = os.environ.get("GRADCHECK_MARGINS_OUT")
    if path:
        with open(path, "w") as f:
            json.dump(s, f, indent=1)
