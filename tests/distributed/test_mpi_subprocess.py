"""Whole jobs started with mpiexec from plain pytest: the benchmark's smoke run, and an
error on one rank ending the job (instead of the other ranks waiting forever)."""

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


def test_distributed_benchmark_quick(tmp_path):
    _mpiexec()
    out = tmp_path / "rows.json"
    res = subprocess.run([sys.executable, os.path.join(ROOT, "benchmarks", "distributed.py"), "--quick",
                          "--only", "1x1,mpi", "--json", str(out)], capture_output=True, text=True, env=_env(),
                         timeout=300)
    assert res.returncode == 0, res.stderr[-2000:]
    rows = json.loads(out.read_text())
    assert [r["world_size"] for r in rows] == [1, 2]
    assert all(r["steps"] == 4 and r["seconds"] > 0 for r in rows)
    assert rows[0]["gradient_floats"] == rows[1]["gradient_floats"] > 1_000_000


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
