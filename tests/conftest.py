"""Shared fixtures: every layer test runs on NumPy and on the strict CuPy stand-in, and on
real CuPy arrays when asked.

**The device switch.** The ``device`` fixture runs a test once per device named by
``pytest --device LIST`` (or the environment variable ``MINIDL_TEST_DEVICE``; the option
wins), LIST being comma-separated names among ``cpu`` (NumPy), ``strict`` (the stand-in of
``tests/strict_device.py``) and ``cuda`` (CuPy on the GPU). The default is ``cpu,strict``.
``--device cuda`` runs every test that takes the fixture (the gradient checks and the
PyTorch parity tests among them) on CuPy arrays **alone**; ``--device cpu,strict,cuda`` on
all three; the variants of other devices are reported as "deselected". Every test variant
that runs on a requested device is marked ``on_device``, so

    pytest --device cuda -m on_device

runs just those, on the GPU. Asking for ``cuda`` where CuPy is missing or no GPU answers is
a usage error ("no CUDA device ..."), never a silent skip. ``--time-budget SECONDS`` stops
the session after the test that crosses that time (as ``-x`` stops at a failure; exit
status 2, "Interrupted: time budget ..."), for a GPU lent for minutes
(``benchmarks/gpu_check.sh``).
"""

import os
import time

import numpy as np
import pytest
from device_switch import DEFAULT_DEVICES, DEVICES, ENV_VAR, cuda_problem, requested_devices
from hypothesis import HealthCheck, settings
from strict_device import StrictArray  # noqa: F401  (registers the "strict" device)

import minidl
from minidl import backend

# A handful of examples per property keeps the suite fast; the derandomized profile
# makes CI runs reproducible.
settings.register_profile(
    "minidl", max_examples=6, deadline=None, derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
settings.load_profile("minidl")

def pytest_addoption(parser):
    parser.addoption(
        "--device", default=None, metavar="LIST",
        help=f"devices for the tests that take the `device` fixture, comma-separated among {', '.join(DEVICES)} "
             f"(default: ${ENV_VAR}, else {DEFAULT_DEVICES}); 'cuda' needs CuPy and a GPU",
    )
    parser.addoption("--time-budget", type=float, default=None, metavar="SECONDS",
                     help="stop the session once this many seconds have passed (after the running test)")


def pytest_configure(config):
    config.addinivalue_line("markers", "on_device: the test takes the `device` fixture (runs on each --device)")
    devices = requested_devices(config.getoption("--device"), os.environ)
    if "cuda" in devices:
        problem = cuda_problem()
        if problem:
            raise pytest.UsageError(f"--device {','.join(devices)}: {problem}")
    config.minidl_devices = devices
    config.minidl_started = time.monotonic()


def pytest_runtest_teardown(item, nextitem):
    budget = item.config.getoption("--time-budget")
    if budget is not None and nextitem is not None and time.monotonic() - item.config.minidl_started > budget:
        item.session.shouldstop = f"time budget of {budget:g} s spent (--time-budget)"


def pytest_collection_modifyitems(config, items):
    """Keep each device test's variants for the requested devices (the others are reported as
    deselected) and mark the kept ones ``on_device``."""
    keep, drop = [], []
    for item in items:
        callspec = getattr(item, "callspec", None)
        if callspec is None or "device" not in callspec.params:
            keep.append(item)
        elif callspec.params["device"] in config.minidl_devices:
            item.add_marker(pytest.mark.on_device)
            keep.append(item)
        else:
            drop.append(item)
    if drop:
        config.hook.pytest_deselected(items=drop)
        items[:] = keep


# The variants are made for every device and the unrequested ones deselected (rather than
# parametrizing per run): a fixture with ``params`` gives each variant its own node id, from
# which hypothesis derives that variant's examples, so a test draws the same examples on
# "cpu" whichever devices are requested.
@pytest.fixture(params=DEVICES)
def device(request):
    """The device name a test runs on: "cpu" (NumPy), "strict" (the CuPy stand-in) or "cuda"."""
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
