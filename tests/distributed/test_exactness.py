"""N ranks train the same weights as one process on the same global batches (float64, 1e-10).

Run three ways:

* ``mpiexec -n 2 python -m pytest tests/distributed`` (and ``-n 3``; ``.ci/run`` does both):
  the ranks are real MPI processes, each with a *different* initial model, and rank 0's is
  broadcast by ``fit``. Every rank also trains the single-process reference locally and
  compares.
* plain ``pytest``: the same code on 1, 2 and 3 ranks of an in-process world of threads
  (tests/distributed/distributed_helpers.py), and on one real MPI rank (``COMM_SELF``)
  when mpi4py is installed. No test here waits on a process that was never started.

The data make every awkward case happen: bucketed variable-length batches (each trimmed to
its longest review, so shards carry padding), 29 rows in batches of 7 (cut by count: shards
of 4+3 on two ranks, 3+2+2 on three; cut by work, the default, other uneven splits) and a
last batch of one row (empty shards). Adam, and a clipping threshold that is crossed on
some steps and not on others.
"""

from __future__ import annotations

import os

import numpy as np
import pytest
from distributed_helpers import run_ranks

import minidl
from minidl import distributed, nn, optim
from minidl.data.batching import BatchLoader
from minidl.models import ImdbClassifier
from minidl.optim import clip_grad_norm_
from minidl.train import fit

UNDER_MPI = distributed.launched_by_mpi()
N, T, VOCAB, BATCH, EPOCHS, CLIP, LR = 29, 9, 20, 7, 3, 0.3, 0.05
TOL = 1e-10


def make_data(seed=1):
    """Token ids (N, T) post-padded with 0, lengths in [1, T], binary labels."""
    rng = np.random.default_rng(seed)
    lengths = rng.integers(1, T + 1, size=N)
    ids = np.zeros((N, T), np.int64)
    for i, L in enumerate(lengths):
        ids[i, :L] = rng.integers(1, VOCAB, size=L)
    return ids, rng.integers(0, 2, size=N), lengths.astype(np.int64)


def make_model(seed):
    minidl.manual_seed(seed)
    with minidl.backend.default_dtype(np.float64):
        return ImdbClassifier(VOCAB, embed_dim=4, hidden_size=5, fc_dim=6, dropout=0.0)


def loader():
    ids, labels, lengths = make_data()
    return BatchLoader(ids, labels, lengths, batch_size=BATCH, shuffle=True, seed=3, bucket=True, bucket_pool=2)


def train(model, dist=None):
    """``minidl.train.fit`` itself: one process (``dist=None``) or one rank of many."""
    opt = optim.Adam(model.parameters(), lr=LR)
    fit(model, nn.CrossEntropyLoss(), opt, loader(), epochs=EPOCHS, clip_grad=CLIP, progress=False, log=None,
        distributed=dist)


def explicit_steps(model, dist=None):
    """The step fit takes, written out with the hooks in fit's order (the chapter shows it).
    Returns the gradient norms before clipping."""
    loss_fn, params = nn.CrossEntropyLoss(), model.parameters()
    opt = optim.Adam(params, lr=LR)
    if dist is not None:
        dist.broadcast_parameters(model)
    norms, data = [], loader()
    for _ in range(EPOCHS):
        for batch in data:
            global_n = len(batch.y)
            if dist is not None:
                batch = dist.shard(batch)
            local_n = len(batch.y)
            if local_n:  # an empty shard runs no forward: its gradient is zero
                out = model(batch.x, batch.lengths)
                loss_fn(out, batch.y)
                model.backward(loss_fn.backward())
            if dist is not None:
                dist.allreduce_gradients(params, local_n, global_n)
            norms.append(clip_grad_norm_(params, CLIP))
            opt.step()
            opt.zero_grad()
    return norms


def weights(model):
    return {k: np.array(v, copy=True) for k, v in model.state_dict().items()}


def assert_same_weights(got, want):
    assert got.keys() == want.keys()
    for k in want:
        scale = max(1.0, float(np.abs(want[k]).max()))
        err = float(np.abs(got[k] - want[k]).max())
        assert err <= TOL * scale, f"{k}: max |distributed - single| = {err:.3g} > {TOL * scale:.3g}"


def reference():
    """The single-process weights after fit."""
    model = make_model(0)
    train(model)
    return weights(model)


def test_the_setup_exercises_uneven_and_empty_shards_and_clipping():
    data = loader()
    sizes = sorted(len(b.y) for b in data)
    assert sizes == [1, 7, 7, 7, 7]
    for p in (2, 3):  # cutting by work moves rows between ranks on some batches, not on all
        moved = [[len(distributed.shard_batch_by_work(b, r, p).y) for r in range(p)]
                 != [len(distributed.shard_batch(b, r, p).y) for r in range(p)] for b in data]
        assert any(moved) and not all(moved), (p, moved)
    assert len({b.x.shape[1] for b in data}) > 1  # bucketing trims batches to different widths
    model = make_model(0)
    norms = explicit_steps(model)
    assert min(norms) < CLIP < max(norms), f"clipping should act on some steps only, norms {norms}"
    assert_same_weights(weights(model), reference())  # the written-out step is fit's step


@pytest.mark.skipif(UNDER_MPI, reason="thread ranks: plain pytest only")
@pytest.mark.parametrize("p", [2, 3])
def test_explicit_steps_on_thread_ranks_match_one_process(p):
    want = reference()
    models = [make_model(0 if r == 0 else 10 + r) for r in range(p)]

    def work(dist):
        explicit_steps(models[dist.rank], dist)
        return weights(models[dist.rank])

    for got in run_ranks(p, work):
        assert_same_weights(got, want)


@pytest.mark.skipif(UNDER_MPI, reason="thread ranks: plain pytest only")
@pytest.mark.parametrize("balance", ["work", "count"])
@pytest.mark.parametrize("p", [1, 2, 3])
def test_thread_ranks_match_one_process(p, balance):
    want = reference()
    models = [make_model(0 if r == 0 else 10 + r) for r in range(p)]  # ranks > 0 start elsewhere

    def work(dist):
        dist.balance = balance
        train(models[dist.rank], dist)
        return weights(models[dist.rank])

    results = run_ranks(p, work)
    for got in results:
        assert_same_weights(got, want)
    for got in results[1:]:  # the ranks hold the same bits, not merely close weights
        assert all(np.array_equal(got[k], results[0][k]) for k in got)


@pytest.mark.skipif(UNDER_MPI, reason="plain pytest only")
def test_single_process_context_changes_nothing():
    want = reference()
    model = make_model(0)
    train(model, distributed.SingleProcess())
    got = weights(model)
    assert all(np.array_equal(got[k], want[k]) for k in want)  # bit for bit


@pytest.mark.skipif(UNDER_MPI, reason="plain pytest only")
def test_one_real_mpi_rank_matches_one_process():
    MPI = pytest.importorskip("mpi4py.MPI")
    want = reference()
    model = make_model(0)
    train(model, distributed.MPIDataParallel(MPI.COMM_SELF))
    assert_same_weights(weights(model), want)


@pytest.mark.collective
@pytest.mark.skipif(not UNDER_MPI, reason="needs mpiexec -n p (.ci/run runs it with p = 2 and 3)")
@pytest.mark.parametrize("balance", ["work", "count"])
def test_mpi_ranks_match_one_process(dist, balance):
    want = reference()
    model = make_model(0 if dist.rank == 0 else 10 + dist.rank)  # ranks > 0 start elsewhere
    dist.balance = balance
    train(model, dist)
    got = weights(model)
    # every rank ends with rank 0's exact bits: broadcast rank 0's result into a copy
    copy = make_model(0)
    copy.load_state_dict(got)
    dist.broadcast_parameters(copy)
    same_bits = all(np.array_equal(v, got[k]) for k, v in weights(copy).items())
    n_differ = dist.allreduce_sum(0 if same_bits else 1)
    assert_same_weights(got, want)
    assert n_differ == 0, f"{n_differ} rank(s) hold weights that differ from rank 0's"


@pytest.mark.collective
@pytest.mark.skipif(not UNDER_MPI, reason="needs mpiexec -n p")
def test_mpi_allreduce_sum_and_shards(dist):
    p = dist.world_size
    assert dist.allreduce_sum(dist.rank) == p * (p - 1) // 2
    got = dist.allreduce_sum(np.full((2, 2), dist.rank + 1.0))
    assert np.array_equal(got, np.full((2, 2), p * (p + 1) / 2))
    for batch in loader():  # the shards of all ranks together are the global batch, once each
        part = dist.shard(batch)
        index_sum = dist.allreduce_sum(int(part.index.sum()))
        rows = dist.allreduce_sum(len(part.y))
        assert (index_sum, rows) == (int(batch.index.sum()), len(batch.y))


def shared_folder(dist, tmp_path):
    """Rank 0's tmp_path on every rank (the ranks share a file system here), sent as bytes
    through allreduce_sum: rank 0 contributes the bytes, the others zeros."""
    raw = np.zeros(1024, np.int64)
    if dist.is_root:
        path = os.fsencode(tmp_path)
        raw[:len(path)] = np.frombuffer(path, np.uint8)
    raw = dist.allreduce_sum(raw)
    return os.fsdecode(raw[raw > 0].astype(np.uint8).tobytes())


@pytest.mark.collective
@pytest.mark.skipif(not UNDER_MPI, reason="needs mpiexec -n p")
def test_mpi_fit_with_dropout_checkpoints_and_resume(dist, tmp_path):
    """Dropout on: the ranks draw different masks but keep identical weights; rank 0's
    checkpoint, resumed on every rank, continues exactly as the uninterrupted run."""
    folder = shared_folder(dist, tmp_path)

    def run(out, epochs, resume=False):
        model = make_model(0)
        model.dropout.p = 0.5
        opt = optim.Adam(model.parameters(), lr=LR)
        fit(model, nn.CrossEntropyLoss(), opt, loader(), loader(), epochs=epochs, clip_grad=CLIP, progress=False,
            log=None, checkpoint_dir=os.path.join(folder, out), resume=resume, distributed=dist)
        dist.allreduce_sum(0)  # a barrier: rank 0 has written its checkpoint before anyone reads it
        return weights(model)

    straight = run("straight", 2)
    run("stopped", 1)
    resumed = run("stopped", 2, resume=True)
    same = all(np.array_equal(resumed[k], straight[k]) for k in straight)
    copy = make_model(0)
    copy.load_state_dict(straight)
    dist.broadcast_parameters(copy)
    same_as_root = all(np.array_equal(v, straight[k]) for k, v in weights(copy).items())
    n_bad = dist.allreduce_sum(np.array([0 if same else 1, 0 if same_as_root else 1]))
    assert n_bad.tolist() == [0, 0], f"ranks whose resumed run differs / whose weights differ from rank 0's: {n_bad}"
    assert os.path.isfile(os.path.join(folder, "stopped", "last.npz"))
