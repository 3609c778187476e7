"""minidl.distributed without MPI: sharding, the flat buffer, the factory, the weighting
against an in-process world of threads. Under mpiexec these are skipped (each rank would
only repeat them); tests/distributed/test_exactness.py holds the collective tests."""

import numpy as np
import pytest
from distributed_helpers import SummingThreadDataParallel, ThreadDataParallel, run_ranks

import minidl
from minidl import distributed
from minidl.data.batching import Batch
from minidl.errors import DTypeError, RangeError, ShapeError
from minidl.module import Parameter

pytestmark = pytest.mark.skipif(distributed.launched_by_mpi(), reason="single-process tests; run by plain pytest")


@pytest.mark.parametrize("n", [0, 1, 2, 5, 7, 8, 64])
@pytest.mark.parametrize("p", [1, 2, 3, 4])
def test_shard_bounds_cover_the_batch_evenly(n, p):
    bounds = [distributed.shard_bounds(n, r, p) for r in range(p)]
    assert bounds[0][0] == 0 and bounds[-1][1] == n
    assert all(bounds[r][1] == bounds[r + 1][0] for r in range(p - 1))
    sizes = [b - a for a, b in bounds]
    assert max(sizes) - min(sizes) <= 1 and min(sizes) >= 0
    assert sizes == sorted(sizes, reverse=True)  # the larger shards come first


def test_shard_bounds_rejects_bad_rank():
    with pytest.raises(RangeError, match="rank"):
        distributed.shard_bounds(4, 2, 2)


def test_shard_batch_keeps_type_width_and_none():
    x = np.arange(5 * 3).reshape(5, 3)
    batch = Batch(x, np.arange(5), np.array([3, 2, 3, 1, 2]), np.arange(10, 15))
    parts = [distributed.shard_batch(batch, r, 3) for r in range(3)]
    assert all(isinstance(s, Batch) for s in parts)
    assert [len(s.y) for s in parts] == [2, 2, 1]
    for field in range(4):
        assert np.array_equal(np.concatenate([s[field] for s in parts]), batch[field])
    assert parts[2].x.shape == (1, 3)  # the width is the global batch's
    plain = distributed.shard_batch((x, np.arange(5), None), 1, 2)
    assert isinstance(plain, tuple) and plain[2] is None and np.array_equal(plain[0], x[3:])


def test_shard_of_a_tiny_batch_may_be_empty():
    batch = Batch(np.ones((1, 4), np.int64), np.array([1]), np.array([4]), np.array([0]))
    empty = distributed.shard_batch(batch, 2, 3)
    assert empty.x.shape == (0, 4) and empty.y.shape == (0,) and empty.lengths.shape == (0,)


def test_shard_batch_rejects_ragged_rows():
    with pytest.raises(ShapeError, match="same number of rows"):
        distributed.shard_batch((np.ones((4, 2)), np.ones(3)), 0, 2)


def _work(sorted_lengths, bounds):
    """rows × longest length of each shard (0 for an empty one)."""
    return [(b - a) * max(sorted_lengths[b - 1], 1) if b > a else 0 for a, b in bounds]


@pytest.mark.parametrize("seed", range(40))
def test_work_shard_bounds_are_the_best_contiguous_cut(seed):
    """Against every contiguous cut of the sorted rows (brute force): the largest shard work is
    the smallest possible, and never above the count split's."""
    import itertools

    rng = np.random.default_rng(seed)
    n, p = int(rng.integers(0, 11)), int(rng.integers(1, 5))
    L = np.sort(rng.integers(1, 30, size=n))
    bounds = distributed.work_shard_bounds(L, p)
    assert bounds[0][0] == 0 and bounds[-1][1] == n and all(bounds[r][1] == bounds[r + 1][0] for r in range(p - 1))
    best = min(max(_work(L, list(zip((0,) + cut, cut + (n,)))))
               for cut in itertools.combinations_with_replacement(range(n + 1), p - 1))
    assert max(_work(L, bounds)) == best
    by_count = [distributed.shard_bounds(n, r, p) for r in range(p)]
    assert max(_work(L, bounds)) <= max(_work(L, by_count))


@pytest.mark.parametrize("n", [0, 1, 5, 7, 64])
@pytest.mark.parametrize("p", [1, 2, 3])
def test_work_shards_of_equal_lengths_are_the_count_split_sizes(n, p):
    sizes = [b - a for a, b in distributed.work_shard_bounds([9] * n, p)]
    assert sum(sizes) == n and max(sizes) - min(sizes) <= 1


def test_work_shards_give_the_longer_rows_fewer_ranks_rows():
    L = [10] * 15 + [100]  # count split: 8 × 10 = 80 on rank 0, 8 × 100 = 800 on rank 1 (padded to 100)
    assert distributed.work_shard_bounds(L, 2) == [(0, 15), (15, 16)]  # 15 × 10 = 150 and 1 × 100
    L = [100] * 8 + [200] * 8  # a row of 200 on rank 0 would make it run 200 steps: the count split is best
    assert distributed.work_shard_bounds(L, 2) == [(0, 8), (8, 16)]
    with pytest.raises(RangeError, match="sorted"):
        distributed.work_shard_bounds([3, 1], 2)


def test_shard_batch_by_work_takes_every_row_once_and_keeps_the_type():
    rng = np.random.default_rng(0)
    lengths = rng.integers(1, 9, size=11)
    x = np.arange(11 * 8).reshape(11, 8)
    batch = Batch(x, np.arange(11), lengths, np.arange(100, 111))
    parts = [distributed.shard_batch_by_work(batch, r, 3) for r in range(3)]
    assert all(isinstance(s, Batch) for s in parts)
    index = np.concatenate([s.index for s in parts])
    assert sorted(index.tolist()) == list(range(100, 111))  # each row once
    for s in parts:  # the fields of a row stay together; x keeps the batch's width
        rows = s.index - 100
        assert np.array_equal(s.x, x[rows]) and np.array_equal(s.y, rows) and np.array_equal(s.lengths, lengths[rows])
    assert max(s.lengths.max() for s in parts[:2]) <= parts[2].lengths.min()  # the longest rows on the last rank
    plain = distributed.shard_batch_by_work((x, np.arange(11)), 1, 3)  # no lengths: by count
    assert np.array_equal(plain[0], distributed.shard_batch((x, np.arange(11)), 1, 3)[0])
    as_tuple = distributed.shard_batch_by_work((x, np.arange(11), lengths), 2, 3)
    assert isinstance(as_tuple, tuple) and np.array_equal(as_tuple[2], parts[2].lengths)


def test_the_context_shards_by_work_unless_told_by_count():
    lengths = np.array([100] + [10] * 15)
    batch = Batch(np.zeros((16, 100), np.int64), np.zeros(16, np.int64), lengths, np.arange(16))
    dist = ThreadDataParallel(1, 2, world=None)
    assert dist.balance == "work" and dist.shard(batch).index.tolist() == [0]
    dist.balance = "count"
    assert len(dist.shard(batch).y) == 8
    dist.balance = "lengths"
    with pytest.raises(RangeError, match="'work' or 'count'"):
        dist.shard(batch)


@pytest.mark.parametrize("p", [1, 2, 3])
def test_allgather_gives_every_rank_every_chunk(p):
    def work(dist):
        v = np.full(4 * p, -1.0)
        v[4 * dist.rank:4 * dist.rank + 4] = np.arange(4) + 10 * dist.rank
        dist.allgather(v)
        return v

    want = np.concatenate([np.arange(4) + 10 * r for r in range(p)])
    for kind in (ThreadDataParallel, SummingThreadDataParallel):  # its own, and the library's fallback
        for v in run_ranks(p, work, kind=kind):
            assert np.array_equal(v, want)
    with pytest.raises(ShapeError, match="multiple of world_size"):
        ThreadDataParallel(0, 2, world=None).allgather(np.zeros(3))


def test_flat_buffer_round_trip_and_scale():
    rng = np.random.default_rng(0)
    arrays = [rng.standard_normal(s) for s in [(3, 4), (5,), (2, 1, 2)]]
    flat = distributed.FlatBuffer(arrays, extra=1)
    assert flat.vector.shape == (12 + 5 + 4 + 1,) and flat.matches(arrays)
    v = flat.pack(arrays, scale=0.25)
    assert np.array_equal(v[:12], 0.25 * arrays[0].ravel())
    outs = [np.zeros_like(a) for a in arrays]
    flat.unpack(outs)
    for a, o in zip(arrays, outs):
        assert np.array_equal(o, 0.25 * a)
    assert not flat.matches(arrays[:2]) and not flat.matches([a.astype(np.float32) for a in arrays])


def test_flat_buffer_refuses_mixed_dtypes():
    with pytest.raises(DTypeError, match="one dtype"):
        distributed.FlatBuffer([np.zeros(2), np.zeros(2, np.float32)])


def test_init_outside_mpiexec_is_single_process(monkeypatch):
    for k in distributed._LAUNCHER_VARS:
        monkeypatch.delenv(k, raising=False)
    dist = minidl.distributed.init()
    assert isinstance(dist, distributed.SingleProcess)
    assert (dist.rank, dist.world_size, dist.is_root) == (0, 1, True)
    assert distributed.launched_by_mpi({"PMI_RANK": "0"}) and distributed.launched_by_mpi({"OMPI_COMM_WORLD_SIZE": "2"})
    with pytest.raises(ValueError, match="kind"):
        distributed.init("gloo")


def test_single_process_is_the_identity():
    dist = distributed.SingleProcess()
    p = Parameter(np.arange(4.0))
    p.grad[...] = [1, 2, 3, 4]
    dist.allreduce_gradients([p], 7, 7)
    assert np.array_equal(p.grad, [1, 2, 3, 4])
    assert dist.allreduce_sum(3) == 3 and isinstance(dist.allreduce_sum(3), int)
    assert np.array_equal(dist.allreduce_sum(np.array([1.5, 2])), [1.5, 2])
    with pytest.raises(RangeError, match="whole batch"):
        dist.allreduce_gradients([p], 3, 7)


@pytest.mark.parametrize("N", [1, 2, 7])
@pytest.mark.parametrize("p", [2, 3])
def test_weighted_gradients_give_the_global_mean(p, N):
    """Per-sample 'gradients' g_i: rank r holds the mean over its shard; the all-reduce must
    give the mean over the whole batch, also for shards of unequal size and empty ones."""
    g = np.random.default_rng(N).standard_normal((N, 3))

    def work(dist):
        a, b = distributed.shard_bounds(N, dist.rank, dist.world_size)
        param = Parameter(np.zeros(3))
        if b > a:
            param.grad[...] = g[a:b].mean(axis=0)
        else:
            param.grad[...] = np.nan  # an empty shard's stale grad must not leak into the sum
        dist.allreduce_gradients([param], b - a, N)
        return param.grad

    for grad in run_ranks(p, work):
        np.testing.assert_allclose(grad, g.mean(axis=0), rtol=1e-14, atol=1e-15)


def test_allreduce_gradients_catches_ranks_on_different_batches():
    def work(dist):
        param = Parameter(np.zeros(2))
        dist.allreduce_gradients([param], 2, 5)  # two shards of 2 rows cannot make a batch of 5

    errors = run_ranks(2, work, catch=RangeError)
    assert all(isinstance(e, RangeError) and "not on the same global batch" in str(e) for e in errors)


def test_allreduce_gradients_rejects_bad_counts():
    dist = ThreadDataParallel(0, 1, world=None)
    with pytest.raises(RangeError, match="local_n"):
        dist.allreduce_gradients([Parameter(np.zeros(1))], 3, 2)


def test_allreduce_sum_numbers_and_arrays():
    def work(dist):
        return dist.allreduce_sum(dist.rank + 1), dist.allreduce_sum(0.5), dist.allreduce_sum(np.eye(2) * dist.rank)

    for i, f, a in run_ranks(3, work):
        assert i == 6 and isinstance(i, int) and f == 1.5
        assert np.array_equal(a, 3 * np.eye(2))


def test_broadcast_parameters_copies_root_model_and_buffers():
    from minidl import nn

    def work(dist):
        model = nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4))
        for p in model.parameters():  # different weights on every rank
            p.data[...] = np.arange(p.data.size).reshape(p.data.shape) * (dist.rank + 1)
        model[1].running_mean[...] = dist.rank
        dist.broadcast_parameters(model)
        return {k: np.array(v) for k, v in model.state_dict().items()}

    states = run_ranks(3, work)
    for s in states[1:]:
        assert s.keys() == states[0].keys()
        for k in s:
            assert np.array_equal(s[k], states[0][k]), k
    assert np.all(states[0]["1.running_mean"] == 0)


def test_broadcast_parameters_refuses_different_models():
    from minidl import nn

    def work(dist):
        dist.broadcast_parameters(nn.Linear(3, 4 + dist.rank))

    errors = run_ranks(2, work, catch=ShapeError)
    assert all(isinstance(e, ShapeError) and "differ" in str(e) for e in errors)


def test_nccl_dtype_table_and_unique_id_encoding():
    class FakeNccl:
        NCCL_FLOAT32, NCCL_FLOAT64, NCCL_INT64 = 7, 8, 4

    assert distributed.nccl_dtype(np.float32, FakeNccl) == 7
    assert distributed.nccl_dtype("float64", FakeNccl) == 8
    with pytest.raises(DTypeError, match="not supported"):
        distributed.nccl_dtype(np.complex64, FakeNccl)
    uid = tuple(range(-128, 0))  # signed chars, as x86 returns them
    carried = np.zeros(distributed._NCCL_UNIQUE_ID_BYTES, np.int16)
    carried[:] = uid
    assert tuple(int(c) for c in carried) == uid
    carried[:] = tuple(range(128, 256))  # unsigned chars (ARM) survive too
    assert int(carried[-1]) == 255


def test_core_library_does_not_import_mpi4py():
    import subprocess
    import sys

    code = "import sys, minidl, minidl.train, minidl.distributed; print('mpi4py' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"

