"""Weight initialisation, drawn on the host from minidl's seeded generator.

PyTorch's defaults are reproduced so that a minidl layer starts from the same
distribution as its PyTorch twin: ``Linear`` and the recurrent layers draw
U(−1/√fan, 1/√fan); ``Embedding`` draws N(0, 1).
"""

from __future__ import annotations

import math

from .. import backend

__all__ = ["uniform", "normal", "zeros", "ones", "kaiming_normal"]


def uniform(shape, bound: float, dtype=None):
    """U(−bound, bound) of ``shape`` as a host array of the default float dtype."""
    dtype = dtype or backend.get_default_dtype()
    return backend.host_rng().uniform(-bound, bound, size=shape).astype(dtype)


def normal(shape, std: float = 1.0, dtype=None):
    """N(0, std²) of ``shape`` as a host array of the default float dtype."""
    dtype = dtype or backend.get_default_dtype()
    return (std * backend.host_rng().standard_normal(size=shape)).astype(dtype)


def zeros(shape, dtype=None):
    """Zeros of ``shape`` (host, default float dtype)."""
    return backend.host_full(shape, 0, dtype)


def ones(shape, dtype=None):
    """Ones of ``shape`` (host, default float dtype)."""
    return backend.host_full(shape, 1, dtype)


def kaiming_normal(shape, fan_in: int, dtype=None):
    """N(0, 2/fan_in): He et al. (2015), for layers followed by ReLU (the initialisation
    chapter compares it with PyTorch's default on a deep ReLU stack)."""
    return normal(shape, math.sqrt(2.0 / fan_in), dtype)
