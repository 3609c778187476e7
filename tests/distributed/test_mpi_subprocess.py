"""Whole jobs started with mpiexec from plain pytest: the benchmark's smoke run, and an
error on one rank ending the job (instead of the other ranks waiting forever)."""

import importlib.util
import json
import os
import shutil
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
LAUNCHER_VARS = ("PMI_RANK", "PMI_SIZE", "PMI_FD", "PMI_PORT", "PMIX_RANK", "OMPI_COMM_WORLD_SIZE",
                 "MV2_COMM_WORLD_SIZE")


def _mpiexec():
    pytest.importorskip("mpi4py")
    exe = shutil.which("mpiexec") or os.path.join(os.path.dirname(sys.executable), "mpiexec")
    if not os.path.exists(exe):
        pytest.skip("no mpiexec")
    return exe


def _env():
    env = {k: v for k, v in os.environ.items() if k not in LAUNCHER_VARS}
    env["OPENBLAS_NUM_THREADS"] = "1"
    env["PYTHONPATH"] = ROOT + os.pathsep + env.get("PYTHONPATH", "")
    return env


def _run_benchmark(tmp_path, *flags):
    """benchmarks/distributed.py --quick with ``flags``; returns (its JSON, its stdout)."""
    _mpiexec()
    out = tmp_path / "bench.json"
    res = subprocess.run([sys.executable, os.path.join(ROOT, "benchmarks", "distributed.py"), "--quick",
                          "--json", str(out), *flags], capture_output=True, text=True, env=_env(), timeout=300)
    assert res.returncode == 0, res.stderr[-2000:]
    return json.loads(out.read_text()), res.stdout


def _check_rows(report, stdout, keys, world_sizes, min_params):
    """What holds whatever the timings: every setup ran the same batches, the same model
    size and the asked number of steps, and the table says what it was measured under."""
    have_torch = importlib.util.find_spec("torch") is not None
    expected = [(k, w) for k, w in zip(keys, world_sizes) if have_torch or not k.startswith("torch")]
    rows = report["rows"]
    assert [(r["key"], r["world_size"]) for r in rows] == expected
    assert all(r["steps"] == 3 == len(r["step_times_ms"]) and r["seconds"] > 0 and r["step_ms"] > 0 for r in rows)
    assert len({r["batches_digest"] for r in rows}) == 1, "the setups trained on different batches"
    assert len({r["gradient_floats"] for r in rows}) == 1 and rows[0]["gradient_floats"] > min_params
    for r in rows:  # the all-reduce is measured where there is one, and only there
        reduced = [r["allreduce_in_step_ms"], r["allreduce_alone_ms"], r["allreduce_share"]]
        if r["world_size"] > 1:
            assert all(v is not None and v >= 0 for v in reduced) and r["allreduce_share"] <= 1
        else:
            assert reduced == [None, None, None]
    by_key = {r["key"]: r for r in rows}
    assert by_key["1x1"]["speedup"] == 1.0
    if "torch2" in by_key:
        assert by_key["torch2"]["ratio_to_torch2"] == 1.0 and all(r["ratio_to_torch2"] > 0 for r in rows)
    else:
        assert all(r["ratio_to_torch2"] is None for r in rows)
    torch_keys = [k for k in keys if k.startswith("torch")]
    assert len(report["conditions"]["skipped"]) == (0 if have_torch else len(torch_keys))
    cond = report["conditions"]
    assert len(cond["load_start"]) == len(cond["load_end"]) == 3 and cond["steps"] == 3
    lines = stdout.splitlines()
    assert any(line.startswith("* load average (1 / 5 / 15 min): ") for line in lines)
    table = [line for line in lines if line.startswith("| ")]
    assert table[0].startswith("| setup | 3 steps (s) | median step (ms) |")
    assert table[1].startswith("| --- |")
    assert [line.split(" | ")[0][2:] for line in table[2:]] == [r["setup"] for r in rows]
    assert report["markdown"] in stdout


# Between them the two tests run every setup's code path once: two BLAS threads (1x2) and
# two torch threads (torch2) each run once, their one-thread twins stand in elsewhere (a
# second thread on a loaded machine costs seconds of spinning per process).
def test_distributed_benchmark_quick_lstm(tmp_path):
    report, stdout = _run_benchmark(tmp_path, "--only", "1x1,1x2,mpi,zero,torch1", "--torch-onednn", "off",
                                    "--torch-flush-denormal", "on")
    assert report["conditions"]["model"] == "lstm" and report["basis"] == "seconds"
    _check_rows(report, stdout, ["1x1", "1x2", "mpi", "zero", "torch1"], [1, 1, 2, 2, 1], 1_000_000)
    optimizers = {r["key"]: r.get("optimizer") for r in report["rows"]}
    assert optimizers["mpi"] == "whole" and optimizers["zero"] == "sharded"
    # PyTorch's LSTM op by op: the setting reached its worker process, and the table says so
    assert report["conditions"]["torch_onednn"] == "off" and "PyTorch's oneDNN off" in stdout
    assert all(r["torch_onednn"] == "off" for r in report["rows"] if r["framework"] == "torch")
    # and with its core flushing subnormals (read back in the worker), which the table says too
    assert "flush-denormal on" in stdout
    assert all(r["torch_flush_denormal"] == "on" for r in report["rows"] if r["framework"] == "torch")


def test_distributed_benchmark_quick_resnet20(tmp_path):
    report, stdout = _run_benchmark(tmp_path, "--model", "resnet20", "--only", "1x1,mpi,torch2")
    assert report["conditions"]["model"] == "resnet20" and report["basis"] == "step_ms"
    assert "BatchNorm" in stdout
    _check_rows(report, stdout, ["1x1", "mpi", "torch2"], [1, 2, 1], 250_000)


def test_an_error_on_one_rank_ends_the_job(tmp_path):
    script = tmp_path / "fail_on_rank1.py"
    script.write_text(
        "from minidl import distributed\n"
        "dist = distributed.init()\n"
        "if dist.rank == 1:\n"
        "    raise RuntimeError('boom on rank 1')\n"
        "dist.allreduce_sum(1)  # rank 0 would wait here forever without the abort\n"
        "print('rank', dist.rank, 'got through')\n"
    )
    res = subprocess.run([_mpiexec(), "-n", "2", sys.executable, str(script)], capture_output=True, text=True,
                         env=_env(), timeout=120)
    assert res.returncode != 0
    assert "boom on rank 1" in res.stderr and "got through" not in res.stdout
