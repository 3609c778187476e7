"""benchmarks/gpu_check.sh, as far as it runs without a GPU: its dry run times the same cases
through the same code (benchmarks/gpu.py: train_one_epoch / evaluate, the PyTorch twins,
the same-weights check, the table) on NumPy and the CPU at tiny sizes; without a GPU the
full run stops at once, saying why."""

import os
import re
import shutil
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SCRIPT = os.path.join(ROOT, "benchmarks", "gpu_check.sh")
CASES = ["B-lstm", "B-gru", "E-bilstm2", "R34-epoch"]

pytestmark = pytest.mark.skipif(shutil.which("bash") is None, reason="needs bash")


def _run(*args):
    env = dict(os.environ, PYTHON=sys.executable, OPENBLAS_NUM_THREADS="1")
    return subprocess.run(["bash", SCRIPT, *args], capture_output=True, text=True, timeout=300, env=env, cwd=ROOT)


def test_dry_run_prints_one_row_per_case_with_matching_numbers():
    out = _run("--dry-run")
    assert out.returncode == 0, out.stdout + out.stderr
    assert "CPU dry run" in out.stdout
    rows = {line.split("|")[1].strip(): line for line in out.stdout.splitlines() if line.startswith("| ")}
    assert set(CASES) <= set(rows), out.stdout
    for case in CASES:
        cells = [c.strip() for c in rows[case].split("|")[1:-1]]
        assert re.fullmatch(r"\d+\.\d (ms/step|s/epoch)", cells[2]), cells  # minidl's time
        assert cells[6] == "–", cells  # no verdict on targets from a dry run
        try:
            import torch  # noqa: F401
        except ImportError:
            continue
        assert re.fullmatch(r"\d+\.\d (ms/step|s/epoch)", cells[3]), cells  # PyTorch's time
        logits, grads = (float(v) for v in cells[7].split(" / "))
        assert logits < 1e-4 and grads < 1e-3, cells  # same weights, same numbers (float32)
    assert "391 training steps + 79 eval batches" in rows["R34-epoch"]


def test_without_a_gpu_the_full_run_stops_and_says_why():
    if shutil.which("nvidia-smi"):
        pytest.skip("nvidia-smi is present here")
    out = _run()
    assert out.returncode == 1
    assert "nvidia-smi finds no GPU" in out.stdout
