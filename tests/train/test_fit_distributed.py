"""fit's data-parallel hooks, exercised in one process by fakes (no MPI): where each hook
is called and with what, rank 0 alone writing and logging, per-rank dropout seeding and
exact resume under it. The multi-rank exactness tests live with minidl.distributed."""

import numpy as np
import pytest

import minidl
from minidl import nn, optim
from minidl.data.batching import BatchLoader
from minidl.train import fit


class FakeDistributed:
    """world_size 1 with identity collectives, recording every call."""

    def __init__(self, rank=0, world_size=1):
        self.rank, self.world_size, self.is_root = rank, world_size, rank == 0
        self.calls = []

    def broadcast_parameters(self, model):
        self.calls.append(("broadcast", len(model.parameters())))

    def shard(self, batch):
        self.calls.append(("shard", len(batch.y)))
        return batch

    def allreduce_gradients(self, params, local_n, global_n):
        assert all(np.isfinite(p.grad).all() for p in params)
        self.calls.append(("allreduce_gradients", local_n, global_n))

    def allreduce_sum(self, array):
        assert isinstance(array, np.ndarray) and array.dtype == np.float64
        self.calls.append(("allreduce_sum", array.shape))
        return array.copy()


def _data(n=40, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, 6)).astype(np.float32)
    return x, (x[:, 0] > 0).astype(np.int64)


def _train(tmp, epochs, dist=None, p=0.0, resume=False, log=None):
    minidl.manual_seed(0)
    x, y = _data()
    model = nn.Sequential(nn.Linear(6, 8), nn.ReLU(), nn.Dropout(p), nn.Linear(8, 2))
    opt = optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    train = BatchLoader(x, y, batch_size=16, shuffle=True, seed=0)  # 16 + 16 + 8: a short last batch
    test = BatchLoader(x, y, batch_size=32, shuffle=False)
    hist = fit(model, nn.CrossEntropyLoss(), opt, train, test, epochs=epochs, checkpoint_dir=tmp, resume=resume,
               clip_grad=1.0, log=log, distributed=dist)
    return model, hist


def test_hooks_are_called_where_the_contract_says(tmp_path):
    dist = FakeDistributed()
    _train(tmp_path, epochs=2, dist=dist)
    step = lambda n: [("shard", n), ("allreduce_sum", (3,)), ("allreduce_gradients", n, n)]  # noqa: E731
    # evaluation: each test batch sharded, then one reduction of [loss, n, correct] + the 2x2 confusion
    evaluation = [("shard", 32), ("shard", 8), ("allreduce_sum", (3 + 2 * 2,))]
    epoch = step(16) + step(16) + step(8) + evaluation
    assert dist.calls == [("broadcast", 4)] + epoch + epoch  # broadcast once, at the start


def test_world_size_one_without_dropout_equals_one_process(tmp_path):
    plain, hist_plain = _train(tmp_path / "a", epochs=2)
    faked, hist_faked = _train(tmp_path / "b", epochs=2, dist=FakeDistributed())
    for (n, a), (_, b) in zip(plain.named_parameters(), faked.named_parameters()):
        np.testing.assert_array_equal(a.data, b.data, err_msg=n)
    assert hist_plain["test_acc"] == hist_faked["test_acc"]
    assert hist_plain["train_loss"] == pytest.approx(hist_faked["train_loss"], rel=1e-12)


def test_only_rank_zero_writes_and_logs(tmp_path):
    lines = []
    _train(tmp_path / "r1", epochs=1, dist=FakeDistributed(rank=1, world_size=2), log=lines.append)
    assert lines == [] and not (tmp_path / "r1").exists()
    _train(tmp_path / "r0", epochs=1, dist=FakeDistributed(rank=0, world_size=2), log=lines.append)
    assert len(lines) == 1 and (tmp_path / "r0" / "last.npz").is_file()


def test_dropout_is_seeded_per_rank_and_resumes_exactly(tmp_path):
    """Each rank draws its own dropout masks (rank 0 and rank 1 train differently here,
    since the fake does not average); stopping and resuming on a rank reproduces them."""
    r0, _ = _train(tmp_path / "r0", epochs=2, dist=FakeDistributed(rank=0), p=0.5)
    r1, _ = _train(tmp_path / "r1", epochs=2, dist=FakeDistributed(rank=1, world_size=2), p=0.5)
    assert not np.array_equal(r0.parameters()[0].data, r1.parameters()[0].data)
    _train(tmp_path / "stop", epochs=1, dist=FakeDistributed(rank=0), p=0.5)
    minidl.manual_seed(99)
    resumed, _ = _train(tmp_path / "stop", epochs=2, dist=FakeDistributed(rank=0), p=0.5, resume=True)
    for (n, a), (_, b) in zip(r0.named_parameters(), resumed.named_parameters()):
        np.testing.assert_array_equal(a.data, b.data, err_msg=n)
