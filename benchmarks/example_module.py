"""Load one of ``examples/*.py`` as a module, so a benchmark can call its parser and
``prepare`` (the seed, the data, the start weights, the batches) without running it. No torch
here: ``cifar_drift.py``'s minidl runs load the example without importing PyTorch."""

from __future__ import annotations

import importlib.util
import os

EXAMPLES = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "examples")


def load_example(name: str):
    """``examples/<name>.py`` as a fresh module named ``name``."""
    spec = importlib.util.spec_from_file_location(name, os.path.join(EXAMPLES, f"{name}.py"))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod
