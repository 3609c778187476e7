"""Shared fixtures: every layer test runs on NumPy and on the strict CuPy stand-in."""

import numpy as np
import pytest
from hypothesis import HealthCheck, settings
from strict_device import StrictArray  # noqa: F401  (registers the "strict" device)

import minidl
from minidl import backend

# A handful of examples per property keeps the suite fast; the derandomized profile
# makes CI runs reproducible. "minidl-random" draws new examples from --hypothesis-seed
# (tests/test_gradcheck_seeds.py runs the gradient checks over many seeds with it:
# ``pytest --hypothesis-profile=minidl-random --hypothesis-seed=3``).
_PROFILE = dict(max_examples=6, deadline=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
settings.register_profile("minidl", derandomize=True, **_PROFILE)
settings.register_profile("minidl-random", derandomize=False, database=None, **_PROFILE)
settings.load_profile("minidl")


@pytest.fixture(params=["cpu", "strict"])
def device(request):
    """The device name a test runs on: "cpu" (NumPy) or "strict" (the CuPy stand-in)."""
    return request.param


@pytest.fixture
def to_dev(device):
    """``to_dev(host_array)`` -> the array on the test's device."""
    return lambda a: backend.to_device(np.asarray(a), device)


@pytest.fixture(autouse=True)
def _seed_and_dtype():
    minidl.manual_seed(0)
    old = backend.get_default_dtype()
    yield
    backend.set_default_dtype(old)
