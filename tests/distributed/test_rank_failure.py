"""One failing rank ends the whole job at once, and the ranks agree before they train.

* whole jobs under ``mpiexec -n 2`` from plain pytest (a ``timeout=`` turns a hang into a
  failure): one rank without its data, in either order; one rank with a bad flag (it fails
  before MPI starts); ranks started with a different ``--seed`` / ``--limit`` /
  ``--batch-size`` / ``--resume``: refused on every rank, naming the setting;
* :meth:`DataParallel.agree` and the same-global-batch check of ``allreduce_gradients`` on
  thread ranks (every test run) and on MPI ranks (``collective``, under ``mpiexec`` in
  ``.ci/run``).
"""

import os
import shutil
import subprocess
import sys
import time

import numpy as np
import pytest

from minidl import nn
from minidl.distributed import launched_by_mpi
from minidl.errors import RangeError

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from distributed_helpers import run_ranks  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "tests"))
from fake_imdb import make_aclimdb  # noqa: E402

LAUNCHER_VARS = ("PMI_RANK", "PMI_SIZE", "PMI_FD", "PMI_PORT", "PMIX_RANK", "OMPI_COMM_WORLD_SIZE",
                 "MV2_COMM_WORLD_SIZE")
JOB_TIMEOUT = 120  # a job that hangs fails the test instead of the CI run


def _mpiexec():
    pytest.importorskip("mpi4py")
    if launched_by_mpi():
        pytest.skip("starts its own mpiexec: run from plain pytest")
    exe = shutil.which("mpiexec") or os.path.join(os.path.dirname(sys.executable), "mpiexec")
    if not os.path.exists(exe):
        pytest.skip("no mpiexec")
    return exe


@pytest.fixture
def job(tmp_path):
    """Run ``mpiexec -n 1 imdb_lstm.py COMMON FLAGS0 : -n 1 imdb_lstm.py COMMON FLAGS1`` on a
    tiny synthetic IMDB; returns (exit code, stdout, stderr, seconds)."""
    exe = _mpiexec()
    data = make_aclimdb(tmp_path / "data", n_per_class=20)
    env = {k: v for k, v in os.environ.items() if k not in LAUNCHER_VARS}
    env.update(OPENBLAS_NUM_THREADS="1", MPLBACKEND="Agg", MINIDL_CACHE=str(tmp_path / "cache"),
               PYTHONPATH=ROOT + os.pathsep + env.get("PYTHONPATH", ""))
    script = os.path.join(ROOT, "examples", "imdb_lstm.py")
    common = ["--data", data, "--epochs", "1", "--limit", "40", "--vocab-size", "64", "--embed-dim", "4",
              "--hidden-size", "4", "--fc-dim", "4", "--batch-size", "8", "--progress", "off", "--no-download",
              "--out", str(tmp_path / "run")]

    def run(flags0, flags1):
        t0 = time.monotonic()
        res = subprocess.run([exe, "-n", "1", sys.executable, script, *common, *flags0, ":",
                              "-n", "1", sys.executable, script, *common, *flags1],
                             capture_output=True, text=True, env=env, timeout=JOB_TIMEOUT)
        return res.returncode, res.stdout, res.stderr, time.monotonic() - t0

    run.missing = str(tmp_path / "missing")  # a --data that does not exist
    return run


def _error_lines(stderr):
    return [line for line in stderr.splitlines() if line.startswith("error:")]


def test_the_job_runs_when_the_ranks_agree(job):
    code, stdout, stderr, _ = job([], [])
    assert code == 0, stderr[-2000:]
    assert "world size 2" in stdout and "Traceback" not in stderr


@pytest.mark.parametrize("bad_rank", [0, 1])
def test_a_rank_without_its_data_ends_the_job(job, bad_rank):
    bad = ["--data", job.missing]
    code, _, stderr, _ = job(bad if bad_rank == 0 else [], bad if bad_rank == 1 else [])
    assert code != 0
    errors = _error_lines(stderr)
    assert len(errors) == 1 and job.missing in errors[0] and "Traceback" not in stderr


@pytest.mark.parametrize("bad_rank", [0, 1])
def test_a_rank_with_a_bad_flag_ends_the_job(job, bad_rank):
    """argparse exits with 2 before that rank ever starts MPI: it starts it to abort."""
    bad = ["--lr", "-1"]
    code, _, stderr, _ = job(bad if bad_rank == 0 else [], bad if bad_rank == 1 else [])
    assert code != 0 and "--lr" in stderr and "Traceback" not in stderr


@pytest.mark.parametrize("flags,named", [(["--seed", "1"], "config.seed: rank 0 0, rank 1 1"),
                                         (["--limit", "30"], "config.limit: rank 0 40, rank 1 30"),
                                         (["--batch-size", "4"], "config.batch_size: rank 0 8, rank 1 4"),
                                         (["--resume"], "resume: rank 0 False, rank 1 True")])
def test_ranks_with_different_settings_are_refused_on_every_rank(job, flags, named):
    code, _, stderr, _ = job([], flags)
    assert code != 0 and "Traceback" not in stderr
    errors = _error_lines(stderr)
    assert errors and all("started with different settings" in e and named in e for e in errors), stderr[-2000:]


# ------------------------------------------------------------------ the checks themselves, on thread ranks
def test_agree_names_each_differing_setting_on_every_rank():
    def work(dist):
        dist.agree({"config": {"lr": 0.1, "seed": dist.rank}, "epochs": 2, "resume": dist.rank == 1})
        return "agreed"

    errors = run_ranks(3, work, catch=RangeError)
    assert all(isinstance(e, RangeError) for e in errors)
    assert len({str(e) for e in errors}) == 1  # the same message on every rank
    msg = str(errors[0])
    assert "config.seed: rank 0 0, rank 1 1, rank 2 2" in msg and "resume: rank 0 False, rank 1 True" in msg
    assert "lr" not in msg and "epochs" not in msg
    assert run_ranks(3, lambda dist: dist.agree({"seed": 7}) or "agreed") == ["agreed"] * 3


def test_ranks_given_different_global_batches_are_refused_on_every_rank():
    """Shards that add up right but global batches that differ (8 + 8 rows told 10 and 6):
    the old check compared with an all-reduced total and could not fire."""
    def work(dist):
        lin = nn.Linear(2, 2)
        for p in lin.parameters():
            p.grad = np.ones_like(p.data)
        dist.allreduce_gradients(lin.parameters(), 4, 10 if dist.rank == 0 else 6)

    errors = run_ranks(2, work, catch=RangeError)
    assert all(isinstance(e, RangeError) and "not on the same global batch" in str(e) for e in errors)


# ------------------------------------------------------------------ on MPI ranks (.ci/run: mpiexec -n 2 and 3)
@pytest.mark.collective
@pytest.mark.skipif(not launched_by_mpi(), reason="needs mpiexec -n p")
def test_mpi_agree_refuses_on_every_rank(dist):
    with pytest.raises(RangeError, match=r"config.seed: rank 0 0, rank 1 1"):
        dist.agree({"config": {"seed": dist.rank}})
    dist.agree({"config": {"seed": 0}})  # and the ranks are still in step afterwards
    assert dist.allreduce_sum(1) == dist.world_size


@pytest.mark.collective
@pytest.mark.skipif(not launched_by_mpi(), reason="needs mpiexec -n p")
def test_mpi_different_global_batches_are_refused_on_every_rank(dist):
    lin = nn.Linear(2, 2)
    for p in lin.parameters():
        p.grad = np.ones_like(p.data)
    with pytest.raises(RangeError, match="not on the same global batch"):
        dist.allreduce_gradients(lin.parameters(), 2, 2 * dist.world_size + dist.rank)
