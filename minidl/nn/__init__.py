"""Layers that hold parameters and caches; the maths they call lives in ``minidl.functional``."""

from ..module import Module, Sequential
from .linear import Linear

__all__ = ["Module", "Sequential", "Linear"]
