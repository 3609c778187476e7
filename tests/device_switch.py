"""The device list of the test switch (``pytest --device LIST`` / ``MINIDL_TEST_DEVICE``),
kept out of conftest.py so that tests can import it (tests/test_device_switch.py)."""

import pytest

from minidl import backend

DEVICES = ("cpu", "strict", "cuda")
DEFAULT_DEVICES = "cpu,strict"
ENV_VAR = "MINIDL_TEST_DEVICE"


def requested_devices(option, environ) -> list:
    """The device list from ``--device`` (``option``), else ``$MINIDL_TEST_DEVICE``, else the
    default; raises ``pytest.UsageError`` on an unknown or empty name."""
    text = option if option is not None else environ.get(ENV_VAR) or DEFAULT_DEVICES
    names = [n.strip() for n in text.split(",")]
    bad = [n for n in names if n not in DEVICES]
    if bad or not names:
        raise pytest.UsageError(f"--device/{ENV_VAR}: unknown device {bad or text!r}; choose among {DEVICES}")
    return list(dict.fromkeys(names))


def cuda_problem() -> str | None:
    """Why the ``cuda`` device cannot run here (None when it can)."""
    if backend.cupy is None:
        return ("no CUDA device: CuPy is not installed; install the extra that matches the GPU's CUDA "
                "(pip install -e '.[cuda12]' or '.[cuda13]')")
    if not backend.cuda_available():
        return "no CUDA device: CuPy is installed but cupy.is_available() is False (no GPU answers, or no driver)"
    return None
