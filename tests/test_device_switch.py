"""The device switch of tests/conftest.py (``pytest --device LIST`` / ``MINIDL_TEST_DEVICE``)
and what can be checked of the CuPy path without a GPU.

With a GPU, ``pytest --device cuda -m on_device`` runs every test that takes the ``device``
fixture on CuPy arrays; here we check that the switch picks the devices it is told, marks
those tests, and refuses ``cuda`` loudly where no GPU answers; and that every ``xp.NAME``
the library calls exists in CuPy (where CuPy is installed), since the strict stand-in
answers every NumPy name.
"""

import functools
import os
import pathlib
import re
import subprocess
import sys

import pytest
from device_switch import ENV_VAR, cuda_problem, requested_devices

from minidl import backend

ROOT = pathlib.Path(__file__).resolve().parents[1]
SMALL = "tests/nn/test_linear.py"  # a small file whose tests take the device fixture


def run_pytest(*args, env_device=None):
    env = {k: v for k, v in os.environ.items() if k != ENV_VAR}
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    if env_device is not None:
        env[ENV_VAR] = env_device
    return subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=120)


def collected_ids(result):
    return [line for line in result.stdout.splitlines() if "::" in line]


def test_device_list_parsing():
    assert requested_devices(None, {}) == ["cpu", "strict"]
    assert requested_devices(None, {ENV_VAR: "cuda"}) == ["cuda"]
    assert requested_devices("cpu, cuda", {ENV_VAR: "strict"}) == ["cpu", "cuda"]  # the option wins
    assert requested_devices("strict,strict", {}) == ["strict"]
    with pytest.raises(pytest.UsageError, match="unknown device"):
        requested_devices("gpu", {})


def test_switch_runs_the_device_tests_on_the_named_device_and_marks_them():
    result = run_pytest(SMALL, "--device", "strict", "-m", "on_device", "--collect-only")
    ids = collected_ids(result)
    assert result.returncode == 0, result.stdout + result.stderr
    assert ids and all("[strict" in i or "-strict" in i for i in ids), ids
    default = collected_ids(run_pytest(SMALL, "-m", "on_device", "--collect-only"))
    assert len(default) == 2 * len(ids)  # cpu and strict by default
    assert {i.replace("cpu", "strict") for i in default} == set(ids)
    by_env = collected_ids(run_pytest(SMALL, "-m", "on_device", "--collect-only", env_device="strict"))
    assert by_env == ids


def test_time_budget_stops_the_session_after_the_test_that_crosses_it():
    result = run_pytest(SMALL, "--device", "cpu", "--time-budget", "0", "-o", "addopts=")
    assert result.returncode == pytest.ExitCode.INTERRUPTED, result.stdout + result.stderr
    assert "time budget of 0 s spent" in result.stdout
    assert re.search(r"\b1 passed\b", result.stdout), result.stdout


@pytest.mark.skipif(backend.cuda_available(), reason="a GPU answers here: the refusal cannot happen")
@pytest.mark.parametrize("how", ["option", "environment"])
def test_cuda_without_a_gpu_fails_loudly(how):
    args = (SMALL, "--collect-only") + (("--device", "cuda") if how == "option" else ())
    result = run_pytest(*args, env_device="cuda" if how == "environment" else None)
    assert result.returncode == pytest.ExitCode.USAGE_ERROR, result.stdout + result.stderr
    assert "no CUDA device" in result.stderr
    assert cuda_problem() in result.stderr


def _names_called_on_xp():
    names = set()
    for path in (ROOT / "minidl").rglob("*.py"):
        names |= set(re.findall(r"\bxp\.([A-Za-z_]\w*(?:\.[A-Za-z_]\w*)*)", path.read_text(encoding="utf-8")))
    return sorted(names)


def test_every_namespace_name_the_library_calls_exists_in_cupy():
    cupy = pytest.importorskip("cupy")
    names = _names_called_on_xp()
    assert "tanh" in names and "lib.stride_tricks.as_strided" in names  # the scan finds them
    missing = []
    for name in names:
        try:
            functools.reduce(getattr, name.split("."), cupy)
        except AttributeError:
            missing.append(name)
    assert not missing, f"minidl calls xp.{missing} that CuPy lacks"
