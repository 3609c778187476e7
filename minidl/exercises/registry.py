"""Find the exercises, their solutions and stubs, and load a student's function from a file.

Every module of ``minidl/exercises/catalog/`` that defines ``EXERCISE`` (one
:class:`~minidl.exercises.spec.Exercise`) or ``EXERCISES`` (a list of them) is registered:
adding an exercise is adding files, with no central list to edit. They are listed in the
order of the course (``CHAPTERS``), then by ``Exercise.order``, then by name.
"""

from __future__ import annotations

import importlib
import importlib.util
import pathlib
import pkgutil
import sys

from ..errors import RangeError
from . import catalog
from .spec import Exercise

__all__ = ["CHAPTERS", "STUBS", "exercises", "get", "solution", "stub_files", "load_function"]

#: the course pages in reading order (docs/*.md), for listing exercises chapter by chapter
CHAPTERS = (
    "arrays-and-backends.md", "layer-contract.md", "linear-and-activations.md", "losses.md",
    "gradient-checking.md", "optimizers.md", "initialisation.md", "text-pipeline.md", "embedding.md",
    "rnn-and-bptt.md", "vanishing-exploding.md", "lstm.md", "gru.md", "deep-bidirectional-residual.md",
    "end-to-end.md", "convolution-resnet.md", "making-it-fast.md", "gpu.md", "data-parallel.md",
)

#: the stub files: the one source of what ``init`` writes and of the repository's exercises/ folder
STUBS = pathlib.Path(__file__).resolve().parent / "stubs"

_CACHE: dict = {}


def _discover() -> dict:
    found = []
    for info in sorted(pkgutil.iter_modules(catalog.__path__), key=lambda m: m.name):
        module = importlib.import_module(f"{catalog.__name__}.{info.name}")
        found += [module.EXERCISE] if hasattr(module, "EXERCISE") else []
        found += list(getattr(module, "EXERCISES", []))
    names = [e.name for e in found]
    twice = sorted({n for n in names if names.count(n) > 1})
    if twice:
        raise RangeError(f"exercises: names must be unique, got {twice} more than once")

    def order(e: Exercise):
        return (CHAPTERS.index(e.chapter) if e.chapter in CHAPTERS else len(CHAPTERS), e.order, e.name)

    return {e.name: e for e in sorted(found, key=order)}


def exercises() -> dict:
    """``{name: Exercise}`` of every registered exercise, in course order."""
    if "all" not in _CACHE:
        _CACHE["all"] = _discover()
    return _CACHE["all"]


def get(name: str) -> Exercise:
    """The exercise called ``name``; :class:`~minidl.errors.RangeError` naming the known ones."""
    known = exercises()
    if name not in known:
        raise RangeError(f"exercises: no exercise {name!r}; the exercises are: {', '.join(known)}")
    return known[name]


def solution(name: str):
    """The worked solution's function: ``minidl/exercises/solutions/<name>.py``, function ``name``."""
    module = importlib.import_module(f"{__package__}.solutions.{name}")
    return getattr(module, name)


def stub_files() -> dict:
    """``{file name: text}`` of every file ``init`` writes (the stubs and the README)."""
    return {p.name: p.read_text(encoding="utf-8") for p in sorted(STUBS.iterdir())
            if p.suffix in (".py", ".md") and p.name != "__init__.py"}


def load_function(directory, name: str):
    """Import ``<directory>/<name>.py`` (a fresh import each call) and return its function ``name``.

    Raises FileNotFoundError when the file is missing, AttributeError when it defines no such
    function; a syntax error in the student's file propagates as SyntaxError.
    """
    path = pathlib.Path(directory) / f"{name}.py"
    if not path.is_file():
        raise FileNotFoundError(f"no file {path}: write the stubs with `python -m minidl.exercises init {directory}`")
    module_name = f"_minidl_student_{name}"
    spec = importlib.util.spec_from_file_location(module_name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module  # so that dataclasses and pickling in the student's file work
    try:
        spec.loader.exec_module(module)
    finally:
        sys.modules.pop(module_name, None)
    if not callable(getattr(module, name, None)):
        raise AttributeError(f"{path} defines no function {name}(): keep the stub's function name")
    return getattr(module, name)
