"""benchmarks/distributed.py --quick runs end to end: one process and two MPI ranks."""

import os
import shutil
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def test_distributed_benchmark_quick(tmp_path):
    pytest.importorskip("mpi4py")
    if not (shutil.which("mpiexec") or os.path.exists(os.path.join(os.path.dirname(sys.executable), "mpiexec"))):
        pytest.skip("no mpiexec")
    out = tmp_path / "rows.json"
    env = dict(os.environ, OPENBLAS_NUM_THREADS="1")
    for k in ("PMI_RANK", "PMI_SIZE", "PMI_FD", "PMIX_RANK", "OMPI_COMM_WORLD_SIZE", "MV2_COMM_WORLD_SIZE"):
        env.pop(k, None)
    res = subprocess.run([sys.executable, os.path.join(ROOT, "benchmarks", "distributed.py"), "--quick",
                          "--only", "1x1,mpi", "--json", str(out)], capture_output=True, text=True, env=env,
                         timeout=300)
    assert res.returncode == 0, res.stderr[-2000:]
    import json

    rows = json.loads(out.read_text())
    assert [r["world_size"] for r in rows] == [1, 2]
    assert all(r["steps"] == 4 and r["seconds"] > 0 for r in rows)
    assert rows[0]["gradient_floats"] == rows[1]["gradient_floats"] > 1_000_000
