"""Slow (``pytest -m slow tests/test_gradcheck_seeds.py``): the whole gradient-check matrix
over 20 random hypothesis seeds, to show that the tolerance of ``minidl.gradcheck`` holds by
construction and not by a lucky draw.

Each seed runs, in a fresh pytest process, every test file that calls ``gradcheck``,
``gradcheck_pair`` or ``check_layer``, with the non-derandomized hypothesis profile
``minidl-random`` and ``--hypothesis-seed=<seed>``, and the plugin tests/gradcheck_margins.py,
which records how much of the tolerance each check used. Run it with
``OPENBLAS_NUM_THREADS=1`` on a loaded machine.
"""

import json
import os
import pathlib
import subprocess
import sys

import pytest

TESTS = pathlib.Path(__file__).resolve().parent
ROOT = TESTS.parent
MARKERS = ("gradcheck(", "gradcheck_pair(", "check_layer(")


def gradcheck_files() -> list[str]:
    """Every test file under tests/ that runs a gradient check (wherever others move them)."""
    out = []
    for path in sorted(TESTS.rglob("test_*.py")):
        if path.name in (pathlib.Path(__file__).name, "test_docs_examples.py"):
            continue
        if any(m in path.read_text(encoding="utf-8") for m in MARKERS):
            out.append(str(path.relative_to(ROOT)))
    return out


def test_the_matrix_is_found():
    files = gradcheck_files()
    assert any("recurrent_gradcheck" in f or "rnn_gradcheck" in f for f in files), files
    assert any(f.endswith("test_gradcheck.py") for f in files) and any("conv" in f for f in files), files


def _run_with_margins(tmp_path, *args):
    """``pytest ARGS`` in a fresh process with the margins plugin -> (the finished run, the
    margins it wrote, or None if it wrote none)."""
    out = tmp_path / "margins.json"
    env = dict(os.environ, GRADCHECK_MARGINS_OUT=str(out),
               PYTHONPATH=os.pathsep.join([str(ROOT), str(TESTS), os.environ.get("PYTHONPATH", "")]))
    cmd = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "gradcheck_margins", *args]
    run = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True)
    return run, json.loads(out.read_text()) if out.exists() else None


def test_the_margins_plugin_pairs_each_tensor_with_its_own_comparison(tmp_path):
    """The plugin's figures for tests/test_gradcheck.py, whose planted failures make
    ``describe_mismatch`` compare candidates (a transpose, a multiple) beside the tensors'
    own comparisons: the failing tensors are counted as failing, and no passing tensor is
    charged with a failing one's numbers (once it was: kappa_needed 2.7e8 for a passing weight,
    which failed every seed of the slow matrix below)."""
    run, margins = _run_with_margins(tmp_path, "-p", "no:xdist", "tests/test_gradcheck.py")
    assert run.returncode == 0, f"{run.stdout[-4000:]}\n{run.stderr[-2000:]}"
    assert margins["full"]["failing_tensors"] > 0 and margins["direction"]["failing_tensors"] > 0
    for mode in ("full", "direction"):
        assert margins[mode]["tensors"] > 10
        assert margins[mode]["max_used"] <= 1
        assert margins[mode]["max_kappa_needed"] < 100


@pytest.mark.slow
@pytest.mark.parametrize("seed", range(20))
def test_gradcheck_matrix_with_random_seed(seed, tmp_path):
    run, margins = _run_with_margins(tmp_path, "-x", "--hypothesis-profile=minidl-random", f"--hypothesis-seed={seed}",
                                     "-m", "not slow", *gradcheck_files())
    assert run.returncode == 0, f"seed {seed}:\n{run.stdout[-6000:]}\n{run.stderr[-2000:]}"
    print(f"seed {seed}: {json.dumps(margins)}")
    assert margins["full"]["tensors"] > 100 and margins["direction"]["tensors"] > 100
    for mode in ("full", "direction"):
        assert margins[mode]["max_used"] <= 1
        assert margins[mode]["max_kappa_needed"] < 100  # what ROUNDOFF_SAFETY allows
