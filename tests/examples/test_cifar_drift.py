"""benchmarks/cifar_drift.py: three float32 runs of the same net from the same weights and
batches (minidl, minidl under another OpenBLAS kernel, the PyTorch twin), their per-step
losses side by side, and the step at which each pair parts."""

import json
import os
import subprocess
import sys

import pytest
from data_samples import write_cifar_release
from script_loader import load_script

pytest.importorskip("torch")
threadpoolctl = pytest.importorskip("threadpoolctl")


def _default_kernel():
    """The kernel OpenBLAS picks on this CPU by itself, as the benchmark's default run gets it:
    in a child process without ``OPENBLAS_CORETYPE`` (this process may have been started
    under another kernel, e.g. to run the suite under it)."""
    probe = ("import json, numpy, threadpoolctl; print(json.dumps([i.get('architecture') for i in "
             "threadpoolctl.threadpool_info() if i.get('internal_api') == 'openblas']))")
    env = {k: v for k, v in os.environ.items() if k != "OPENBLAS_CORETYPE"}
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, env=env, timeout=120)
    assert done.returncode == 0, done.stderr
    kernels = json.loads(done.stdout)
    if not kernels or not kernels[0]:
        pytest.skip("NumPy's BLAS is not an OpenBLAS that names its kernel")
    return kernels[0]


@pytest.fixture(scope="module")
def drift():
    return load_script(("benchmarks", "cifar_drift.py"), "cifar_drift")


@pytest.fixture
def data(tmp_path):
    write_cifar_release(tmp_path / "cifar-10-batches-bin", n=4)
    return tmp_path


def test_three_runs_start_from_one_loss_and_are_summarised(drift, data, tmp_path, capsys):
    default = _default_kernel()
    other = "Haswell" if default != "Haswell" else "Prescott"
    out = tmp_path / "drift.json"
    r = drift.main(["--data", str(data), "--depth", "20", "--width", "2", "--batch-size", "4", "--steps", "3",
                    "--coretype", other, "--out", str(out)])
    assert r["kernels"][0] == default and r["kernels"][1] not in (None, default)  # OpenBLAS's name for it
    losses = r["losses"]
    assert [len(v) for v in losses.values()] == [3, 3, 3]
    first = losses["minidl"][0]  # before any step: the same weights on the same batch
    assert losses["minidl_control"][0] == pytest.approx(first, rel=1e-6)
    assert losses["pytorch"][0] == pytest.approx(first, rel=1e-5)
    assert set(r["control"]) == set(r["twin"]) == {"parted_at_step", "median_abs_gap", "max_abs_gap"}
    assert json.loads(out.read_text()) == r
    text = capsys.readouterr().out
    assert f"minidl ({default})" in text and f"minidl ({r['kernels'][1]})" in text and "PyTorch against minidl" in text


def test_a_control_under_the_default_kernel_is_refused(drift, data, capsys):
    default = _default_kernel()
    code = drift.cli_run(drift.main, ["--data", str(data), "--depth", "20", "--width", "2", "--batch-size", "4",
                                      "--steps", "1", "--coretype", default])
    err = capsys.readouterr().err
    assert code == 1 and err.startswith(f"error: --coretype {default}:") and err.count("\n") == 1, err


@pytest.mark.parametrize("argv", [["--steps", "0"], ["--depth", "50"]])
def test_bad_flags_end_before_any_run(drift, data, argv, monkeypatch, capsys):
    monkeypatch.setattr(drift, "_spawn", lambda *a, **k: pytest.fail("a run was started"))
    with pytest.raises(SystemExit) as e:
        drift.main(["--data", str(data), *argv])
    assert e.value.code == 2 and "error:" in capsys.readouterr().err


def test_gaps_and_the_step_where_two_runs_part(drift):
    g = drift.gaps([2.0, 2.0, 2.0, 2.0], [2.0, 2.001, 1.99, 2.2])
    assert g == pytest.approx([0.0, 0.0005, -0.005, 0.1])
    s = drift.summarize(g)
    assert s["parted_at_step"] == 3  # 0.05% is not apart yet, 0.5% is
    assert s["median_abs_gap"] == pytest.approx(0.00275) and s["max_abs_gap"] == pytest.approx(0.1)
    assert drift.summarize([0.0, 0.0005])["parted_at_step"] is None
