"""Bad-input rows, declared beside the tests of what they cover.

A test module lists its rows in a module-level ``BAD_INPUTS`` and runs them with one line:

    BAD_INPUTS = [
        Case("nn.Linear", "input of the wrong width", lambda: nn.Linear(3, 2)(f32(2, 4)), ShapeError,
             r"Linear: input must have shape \\(\\.\\.\\., 3\\), got \\(2, 4\\)"),
    ]
    test_bad_input = bad_input_test(BAD_INPUTS)

A row is ``Case(who, what, call, error, match)``: ``who`` the public name it covers
("nn.Linear", "optim.Adam", "minidl.load", ...), ``what`` a few words for the test id,
``call`` a function that must raise ``error`` (a :mod:`minidl.errors` class) with a message
matching the regex ``match`` (it names the call and the argument, and says what was expected
and what was given). ``call`` takes no argument, or one, ``tmp``: a fresh directory (with
``MINIDL_DATA`` unset and ``MINIDL_CACHE`` inside it) for rows that write files.

``tests/test_errors.py`` checks that every public layer, optimizer, loader and checkpoint
function has rows somewhere: it reads ``BAD_INPUTS`` from every test module (:func:`declared`).
"""

from __future__ import annotations

import importlib.util
import inspect
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np
import pytest

from minidl.errors import DTypeError, MinidlError, ShapeError

TESTS = Path(__file__).resolve().parent


@dataclass(frozen=True)
class Case:
    who: str
    what: str
    call: Callable[[], object]
    error: type
    match: str

    @property
    def id(self) -> str:
        return f"{self.who}: {self.what}"


def f64(*shape):
    return np.ones(shape)


def f32(*shape):
    return np.ones(shape, np.float32)


def zeros(*shape, dtype=np.float32):
    return np.zeros(shape, dtype)


def backward_after(layer, x, dy):
    """A call that runs ``layer(x)``, then ``layer.backward(dy)`` (the upstream-gradient rows)."""

    def call():
        layer(x)
        return layer.backward(dy)

    return call


def elementwise_rows(name, make, upstream_shape=True):
    """The rows every parameter-free elementwise layer shares: a list input, an integer
    upstream gradient and (unless the layer reshapes) an upstream gradient of the wrong shape."""
    rows = [
        Case(f"nn.{name}", "a list instead of an array", lambda: make()([[1.0, 2.0]]), DTypeError,
             rf"{name}: input must be an array .*got list"),
        Case(f"nn.{name}", "an integer upstream gradient", backward_after(make(), f64(2, 3), np.ones((2, 3), int)),
             DTypeError, rf"{name}\.backward: dy must be a floating array, got dtype int64"),
    ]
    if upstream_shape:
        rows.append(Case(f"nn.{name}", "an upstream gradient of the wrong shape",
                         backward_after(make(), f64(2, 3), f64(3, 2)), ShapeError,
                         rf"{name}\.backward: dy must have the output's shape \(2, 3\), got \(3, 2\)"))
    return rows


def _takes_tmp(call) -> bool:
    """A row's call takes ``tmp`` when it has a parameter without a default (``lambda t: ...``;
    ``lambda cls=cls: ...`` binds a loop variable and takes nothing)."""
    return any(p.default is p.empty for p in inspect.signature(call).parameters.values())


def check_case(case, tmp):
    # a feature minidl does not offer (MaxPool2d's ceil_mode) is NotImplementedError, as in Python
    assert issubclass(case.error, (MinidlError, NotImplementedError)), f"{case.error.__name__} is not minidl's"
    with pytest.raises(case.error, match=case.match):
        case.call(tmp) if _takes_tmp(case.call) else case.call()


def bad_input_test(cases):
    """The test of a module's rows: one parametrised case per row."""

    @pytest.mark.parametrize("case", cases, ids=[c.id for c in cases])
    def test_bad_input_raises_a_named_error(case, tmp_path, monkeypatch):
        monkeypatch.delenv("MINIDL_DATA", raising=False)
        monkeypatch.setenv("MINIDL_CACHE", str(tmp_path / "cache"))
        check_case(case, tmp_path)

    return test_bad_input_raises_a_named_error


def declared(attribute):
    """``{test module path: the module's attribute}`` for every test module under tests/ that
    defines ``attribute`` (``BAD_INPUTS``, ``FUZZ``) at its top level. Each module is loaded
    once more under a private name (pytest's own copy is not reachable by path)."""
    found = {}
    for path in sorted(TESTS.rglob("test_*.py")):
        if f"\n{attribute} = " not in path.read_text(encoding="utf-8"):
            continue
        name = "declared_" + "_".join(path.relative_to(TESTS).with_suffix("").parts)
        module = sys.modules.get(name)
        if module is None:
            spec = importlib.util.spec_from_file_location(name, path)
            module = importlib.util.module_from_spec(spec)
            sys.modules[name] = module
            spec.loader.exec_module(module)
        found[str(path.relative_to(TESTS))] = getattr(module, attribute)
    return found


def states_backward_after(layer, x, *d_states):
    """A call that runs a recurrent ``layer(x)``, then its backward with a zero output gradient
    and the given final-state gradients (the ``d_h_n``/``d_c_n`` rows)."""

    def call():
        out, _ = layer(x)
        return layer.backward(np.zeros_like(out), *d_states)

    return call
