"""The sharded optimizer (ZeRO stage 1) is the unsharded optimizer, bit for bit.

Run like test_exactness.py: on 1, 2 and 3 thread ranks under plain pytest, on real ranks
under ``mpiexec -n 2`` and ``-n 3`` (the ``collective`` tests). The model has 350
parameter numbers in 9 tensors (80, 80, 100, 20, 20, 30, 6, 12, 2), so 2 ranks get chunks of
175 and 3 ranks chunks of 117, the last with one padding number: the chunk boundaries cut
through parameter tensors (test_the_chunks_cut_through_tensors).
"""

from __future__ import annotations

import os

import numpy as np
import pytest
from distributed_helpers import SummingThreadDataParallel, run_ranks
from test_exactness import (
    CLIP,
    EPOCHS,
    LR,
    UNDER_MPI,
    assert_same_weights,
    loader,
    make_model,
    reference,
    shared_folder,
    train,
    weights,
)

from minidl import distributed, nn, optim
from minidl.errors import CheckpointError, DTypeError, RangeError
from minidl.optim import clip_grad_norm_
from minidl.sharded_optim import ShardedOptimizer, state_size
from minidl.train import fit

OPTIMIZERS = {
    "adam": lambda ps: optim.Adam(ps, lr=LR),
    "adamw": lambda ps: optim.Adam(ps, lr=LR, weight_decay=0.1, decoupled=True),
    "adam_l2": lambda ps: optim.Adam(ps, lr=LR, weight_decay=0.01),
    "sgd": lambda ps: optim.SGD(ps, lr=LR, momentum=0.9, nesterov=True, weight_decay=0.01),
}


def sharded_fit(model, dist, make=OPTIMIZERS["adam"], reduce_scatter=True, **kw):
    opt = ShardedOptimizer(make(model.parameters()), dist, reduce_scatter=reduce_scatter)
    fit(model, nn.CrossEntropyLoss(), opt, loader(), epochs=EPOCHS, clip_grad=CLIP, progress=False, log=None,
        distributed=dist, **kw)
    return opt


def steps(model, opt, dist, n_steps, start=0, reduce_scatter=False):
    """Steps ``start .. start + n_steps − 1`` of fit's step (shard, all-reduce and clip, or
    the sharded optimizer's reduce-scatter and clip; step) over the loader's batches of
    EPOCHS epochs. Returns the gradient norms."""
    loss_fn, params, norms = nn.CrossEntropyLoss(), model.parameters(), []
    batches = [b for _ in range(EPOCHS) for b in loader()]
    for batch in batches[start:start + n_steps]:
        part = dist.shard(batch)
        if len(part.y):
            loss_fn(model(part.x, part.lengths), part.y)
            model.backward(loss_fn.backward())
        if reduce_scatter:
            norms.append(opt.reduce_gradients(len(part.y), len(batch.y), CLIP))
        else:
            dist.allreduce_gradients(params, len(part.y), len(batch.y))
            norms.append(clip_grad_norm_(params, CLIP))
        opt.step()
        opt.zero_grad()
    return norms


def models_for(p, seed=0):
    """One model per thread rank, built before the threads start (they share the generator)."""
    return [make_model(seed) for _ in range(p)]


def unsharded(kind, n_steps, world=1):
    """Weights and optimizer state after ``n_steps`` of the plain optimizer on ``world`` thread ranks."""
    models = models_for(world)

    def work(dist):
        model = models[dist.rank]
        opt = OPTIMIZERS[kind](model.parameters())
        steps(model, opt, dist, n_steps)
        return weights(model), opt.state_dict()
    return run_ranks(world, work)[0]


def same_state(got, want):
    assert got.keys() == want.keys()
    for k in want:
        if isinstance(want[k], np.ndarray):
            assert got[k].dtype == want[k].dtype and np.array_equal(got[k], want[k]), k
        else:
            assert got[k] == want[k], k


# ----------------------------------------------------------------------------- thread ranks
@pytest.mark.skipif(UNDER_MPI, reason="thread ranks: plain pytest only")
@pytest.mark.parametrize("p", [1, 2, 3])
@pytest.mark.parametrize("kind", sorted(OPTIMIZERS))
def test_sharded_step_is_the_unsharded_step_bit_for_bit(kind, p):
    n_steps = 9
    want_w, want_state = unsharded(kind, n_steps, world=p)
    models = models_for(p)

    def work(dist):
        model = models[dist.rank]
        opt = ShardedOptimizer(OPTIMIZERS[kind](model.parameters()), dist, reduce_scatter=False)
        steps(model, opt, dist, n_steps)
        opt.consolidate_state_dict()
        return weights(model), opt.state_dict(), state_size(opt)

    results = run_ranks(p, work)
    total = sum(a.size for a in want_w.values())
    for got_w, got_state, held in results:
        assert all(np.array_equal(got_w[k], want_w[k]) for k in want_w)  # the same bits as unsharded
        same_state(got_state, want_state)  # the gathered state is the unsharded optimizer's, bit for bit
        per_param = 1 if kind == "sgd" else 2  # SGD: one momentum buffer; Adam: m and v
        assert held == per_param * -(-total // p)  # each rank holds its chunk of the state only


@pytest.mark.skipif(UNDER_MPI, reason="plain pytest only")
def test_the_chunks_cut_through_tensors():
    sizes = [p.data.size for p in make_model(0).parameters()]
    ends = set(np.cumsum(sizes).tolist())
    assert sum(sizes) == 350
    for p, k in [(2, 175), (3, 117)]:
        assert -(-sum(sizes) // p) == k
        assert any(r * k not in ends for r in range(1, p))  # a boundary inside a tensor


@pytest.mark.skipif(UNDER_MPI, reason="thread ranks: plain pytest only")
@pytest.mark.parametrize("p", [1, 2, 3])
def test_the_reduce_scatter_and_chunked_clipping_match_the_all_reduce(p):
    """The same steps with the gradient reduce-scattered and clipped by chunks: the same norms
    and weights to rounding, every rank the same bits."""
    n_steps = 15
    models = models_for(p)

    def plain(dist):
        opt = optim.Adam(models[dist.rank].parameters(), lr=LR)
        return steps(models[dist.rank], opt, dist, n_steps), weights(models[dist.rank])

    want_norms, want_w = run_ranks(p, plain)[0]
    models = models_for(p)

    def sharded(dist):
        opt = ShardedOptimizer(optim.Adam(models[dist.rank].parameters(), lr=LR), dist)
        return steps(models[dist.rank], opt, dist, n_steps, reduce_scatter=True), weights(models[dist.rank])

    results = run_ranks(p, sharded)
    assert min(want_norms) < CLIP < max(want_norms)  # clipping acts on some steps only
    for norms, got_w in results:
        np.testing.assert_allclose(norms, want_norms, rtol=1e-13)
        assert_same_weights(got_w, want_w)
        assert all(np.array_equal(got_w[k], results[0][1][k]) for k in got_w)


@pytest.mark.skipif(UNDER_MPI, reason="thread ranks: plain pytest only")
def test_reduce_gradients_catches_ranks_on_different_batches():
    models = models_for(2)

    def work(dist):
        opt = ShardedOptimizer(optim.Adam(models[dist.rank].parameters(), lr=LR), dist)
        opt.reduce_gradients(2, 5)  # two shards of 2 rows cannot make a batch of 5

    errors = run_ranks(2, work, catch=RangeError)
    assert all(isinstance(e, RangeError) and "not on the same batch" in str(e) for e in errors)


@pytest.mark.skipif(UNDER_MPI, reason="thread ranks: plain pytest only")
@pytest.mark.parametrize("p", [1, 2, 3])
def test_fit_with_a_sharded_optimizer_matches_one_process(p):
    want = reference()
    models = [make_model(0 if r == 0 else 10 + r) for r in range(p)]

    def work(dist):
        sharded_fit(models[dist.rank], dist)
        return weights(models[dist.rank])

    results = run_ranks(p, work)
    for got in results:
        assert_same_weights(got, want)
        assert all(np.array_equal(got[k], results[0][k]) for k in got)


@pytest.mark.skipif(UNDER_MPI, reason="thread ranks: plain pytest only")
def test_the_all_reduce_fallback_gathers_the_same_bits():
    want_w, _ = unsharded("adam", 6, world=3)
    models = models_for(3)

    def work(dist):
        model = models[dist.rank]
        steps(model, ShardedOptimizer(optim.Adam(model.parameters(), lr=LR), dist, reduce_scatter=False), dist, 6)
        return weights(model)

    for got in run_ranks(3, work, kind=SummingThreadDataParallel):
        assert all(np.array_equal(got[k], want_w[k]) for k in want_w)


@pytest.mark.skipif(UNDER_MPI, reason="thread ranks: plain pytest only")
@pytest.mark.parametrize("p_save, p_load", [(1, 3), (3, 1), (2, 3)])
def test_a_state_saved_on_some_ranks_resumes_on_others(p_save, p_load):
    """Save after 5 steps on p_save ranks (sharded, or plain on one process), load on p_load
    ranks, take 4 more steps: the same bits as 9 unsharded steps."""
    want_w, want_state = unsharded("adam", 9)
    models = models_for(p_save)

    def first(dist):
        model = models[dist.rank]
        plain = optim.Adam(model.parameters(), lr=LR)
        opt = plain if dist.world_size == 1 else ShardedOptimizer(plain, dist)
        steps(model, opt, dist, 5)
        if dist.world_size > 1:
            opt.consolidate_state_dict()
        return weights(model), opt.state_dict()

    saved_w, saved_state = run_ranks(p_save, first)[0]
    models = models_for(p_load, seed=1)

    def second(dist):
        model = models[dist.rank]
        model.load_state_dict(saved_w)
        opt = ShardedOptimizer(optim.Adam(model.parameters(), lr=LR), dist)
        opt.load_state_dict(saved_state)
        steps(model, opt, dist, 4, start=5)
        opt.consolidate_state_dict()
        return weights(model), opt.state_dict()

    for got_w, got_state in run_ranks(p_load, second):
        assert_same_weights(got_w, want_w)  # different rank counts: equal to rounding
        assert got_state["step_count"] == want_state["step_count"] == 9
        assert got_state.keys() == want_state.keys()


@pytest.mark.skipif(UNDER_MPI, reason="plain pytest only")
def test_refusals():
    model = make_model(0)
    dist = distributed.SingleProcess()
    with pytest.raises(DTypeError, match="minidl.optim optimizer"):
        ShardedOptimizer(model.parameters(), dist)
    plain = optim.Adam(model.parameters(), lr=LR)
    steps(model, plain, dist, 1)
    with pytest.raises(RangeError, match="before its first step"):
        ShardedOptimizer(plain, dist)
    opt = ShardedOptimizer(optim.Adam(model.parameters(), lr=LR), dist)
    with pytest.raises(CheckpointError, match="must come from Adam"):
        opt.load_state_dict(optim.SGD(model.parameters(), lr=LR).state_dict())
    sd = plain.state_dict()
    del sd["state.3.exp_avg"]
    with pytest.raises(CheckpointError, match="stored for"):
        opt.load_state_dict(sd)
    assert opt.step_count == 0 and opt.algorithm == "Adam"


@pytest.mark.skipif(UNDER_MPI, reason="thread ranks: plain pytest only")
def test_state_dict_on_many_ranks_needs_the_gather_first():
    models = models_for(2)

    def work(dist):
        model = models[dist.rank]
        opt = ShardedOptimizer(optim.Adam(model.parameters(), lr=LR), dist)
        steps(model, opt, dist, 2)
        with pytest.raises(RangeError, match="consolidate_state_dict"):
            opt.state_dict()
        opt.consolidate_state_dict()
        return opt.state_dict()["step_count"]

    assert run_ranks(2, work) == [2, 2]


@pytest.mark.skipif(UNDER_MPI, reason="thread ranks: plain pytest only")
def test_fit_checkpoints_of_a_sharded_run_resume_without_sharding(tmp_path):
    """fit gathers the state before rank 0 writes; the checkpoint is the plain optimizer's."""
    folder = str(tmp_path / "run")
    models = models_for(2)

    def work(dist):
        model = models[dist.rank]
        sharded_fit(model, dist, checkpoint_dir=folder)
        return weights(model)

    sharded_w = run_ranks(2, work)[0]
    model = make_model(5)
    opt = optim.Adam(model.parameters(), lr=LR)
    fit(model, nn.CrossEntropyLoss(), opt, loader(), epochs=EPOCHS, clip_grad=CLIP, progress=False, log=None,
        checkpoint_dir=folder, resume=True)  # nothing left to train: it only loads
    assert all(np.array_equal(weights(model)[k], sharded_w[k]) for k in sharded_w)
    assert opt.step_count == EPOCHS * len(loader()) and set(opt.state[0]) == {"exp_avg", "exp_avg_sq"}


# ----------------------------------------------------------------------------- real MPI ranks
@pytest.mark.collective
@pytest.mark.skipif(not UNDER_MPI, reason="needs mpiexec -n p (.ci/run runs it with p = 2 and 3)")
@pytest.mark.parametrize("reduce_scatter", [True, False])
def test_mpi_sharded_optimizer_matches_one_process_and_the_unsharded_ranks(dist, reduce_scatter):
    """Equal to one process to rounding; without the reduce-scatter (the gradient all-reduced
    as without sharding) equal to the unsharded ranks bit for bit."""
    want = reference()
    model = make_model(0 if dist.rank == 0 else 10 + dist.rank)
    sharded_fit(model, dist, reduce_scatter=reduce_scatter)
    got = weights(model)
    plain = make_model(0)
    train(plain, dist)  # the same ranks, the plain optimizer
    if reduce_scatter:
        assert_same_weights(got, weights(plain))
        same_as_plain = True
    else:
        same_as_plain = all(np.array_equal(got[k], v) for k, v in weights(plain).items())
    copy = make_model(0)
    copy.load_state_dict(got)
    dist.broadcast_parameters(copy)
    same_as_root = all(np.array_equal(v, got[k]) for k, v in weights(copy).items())
    n_bad = dist.allreduce_sum(np.array([0 if same_as_plain else 1, 0 if same_as_root else 1]))
    assert_same_weights(got, want)
    assert n_bad.tolist() == [0, 0], f"ranks differing from the unsharded ranks / from rank 0: {n_bad}"


@pytest.mark.collective
@pytest.mark.skipif(not UNDER_MPI, reason="needs mpiexec -n p")
def test_mpi_sharded_fit_with_dropout_checkpoints_and_resume(dist, tmp_path):
    """Dropout on, sharded Adam: a run stopped after epoch 1 and resumed equals the straight
    run bit for bit; its checkpoint resumes in a plain (unsharded) optimizer too, and a plain
    run's in a sharded one (equal to rounding: the plain epoch all-reduces the gradient)."""
    folder = shared_folder(dist, tmp_path)

    def run(out, epochs, resume=False, shard=True):
        model = make_model(0)
        model.dropout.p = 0.5
        opt = optim.Adam(model.parameters(), lr=LR)
        opt = ShardedOptimizer(opt, dist) if shard else opt
        fit(model, nn.CrossEntropyLoss(), opt, loader(), loader(), epochs=epochs, clip_grad=CLIP, progress=False,
            log=None, checkpoint_dir=os.path.join(folder, out), resume=resume, distributed=dist)
        dist.allreduce_sum(0)  # a barrier: rank 0 has written its checkpoint before anyone reads it
        return weights(model)

    straight = run("straight", 2)
    run("stopped", 1)
    resumed = run("stopped", 2, resume=True)
    run("plain", 1)
    resumed_sharded = run("plain", 2, resume=True)  # written by the plain optimizer, resumed sharded
    run("sharded", 1)
    resumed_plain = run("sharded", 2, resume=True, shard=False)  # written sharded, resumed plain
    bad = [0 if all(np.array_equal(resumed[k], straight[k]) for k in straight) else 1]
    for other in (resumed_sharded, resumed_plain):  # one epoch all-reduced: equal to rounding
        bad.append(0 if all(np.abs(other[k] - straight[k]).max() <= 1e-10 * max(1.0, np.abs(straight[k]).max())
                            for k in straight) else 1)
    n_bad = dist.allreduce_sum(np.array(bad))
    assert n_bad.tolist() == [0, 0, 0], f"ranks whose resume differs (sharded, plain→sharded, sharded→plain): {n_bad}"
