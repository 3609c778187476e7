"""A script of the repository (an example, a benchmark) loaded as a module from its path,
for the tests that call its functions: ``load_script(("benchmarks", "cifar_torch.py"), "cifar_torch")``."""

from __future__ import annotations

import importlib.util
import os

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def load_script(path: tuple[str, ...], name: str):
    """The module ``name`` executed from ``ROOT/<path...>`` (not entered in ``sys.modules``)."""
    spec = importlib.util.spec_from_file_location(name, os.path.join(ROOT, *path))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod
