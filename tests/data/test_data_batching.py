"""BatchLoader: every sample once per epoch, trimming, bucketing, seeded and resumable order."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from minidl.data.batching import BatchLoader
from minidl.data.text import pad_sequences


def ragged_data(N, T, seed=0):
    rng = np.random.default_rng(seed)
    lengths = rng.integers(1, T + 1, size=N)
    seqs = [list(rng.integers(2, 9, size=L)) for L in lengths]
    return seqs, np.arange(N) % 2


@given(st.integers(1, 40), st.integers(1, 7), st.booleans(), st.booleans(), st.booleans(),
       st.sampled_from([None, 1, 2]), st.sampled_from(["pre", "post"]))
def test_every_sample_once_per_epoch_and_batches_trimmed(N, B, shuffle, bucket, drop_last, pool, pad):
    seqs, y = ragged_data(N, 6)
    x, lengths = pad_sequences(seqs, 6, pad=pad)
    loader = BatchLoader(x, y, lengths, batch_size=B, shuffle=shuffle, bucket=bucket, bucket_pool=pool,
                         drop_last=drop_last, pad=pad, seed=3)
    for _ in range(2):
        batches = list(loader)
        assert len(batches) == len(loader)
        seen = np.concatenate([b.index for b in batches]) if batches else np.zeros(0, int)
        if drop_last:
            assert all(len(b.index) == B for b in batches) and len(seen) == (N // B) * B
        else:
            assert sorted(seen.tolist()) == list(range(N))  # each sample exactly once
        assert len(set(seen.tolist())) == len(seen)
        for b in batches:
            assert b.x.shape == (len(b.index), max(b.lengths)) and b.x.dtype == x.dtype
            np.testing.assert_array_equal(b.lengths, lengths[b.index])
            np.testing.assert_array_equal(b.y, y[b.index])
            for row, i in zip(b.x, b.index):  # the trimmed row still holds all real tokens
                kept = row[: lengths[i]] if pad == "post" else row[len(row) - lengths[i]:]
                assert kept.tolist() == list(seqs[i][-6:])
                assert (row != 0).sum() == lengths[i]


def test_bucketing_groups_similar_lengths_and_cuts_padding():
    seqs, y = ragged_data(600, 50, seed=1)
    x, lengths = pad_sequences(seqs, 50)
    plain = BatchLoader(x, y, lengths, batch_size=16, seed=0)
    bucketed = BatchLoader(x, y, lengths, batch_size=16, bucket=True, bucket_pool=10, seed=0)
    whole = BatchLoader(x, y, lengths, batch_size=16, bucket=True, bucket_pool=None, seed=0)
    # lengths uniform in 1..50: random batches are about half padding; a pool of 160 sorted
    # rows leaves ~5 length steps inside a batch; sorting all 600 leaves ~1.
    assert plain.padding_fraction() > 0.35
    assert bucketed.padding_fraction() < 0.12 and whole.padding_fraction() < 0.03
    spreads = [int(np.ptp(b.lengths)) for b in bucketed]
    assert np.median(spreads) <= 6
    # batch order is shuffled: not simply short to long inside each pool
    maxima = [int(b.lengths.max()) for b in bucketed]
    assert maxima != sorted(maxima)
    # without shuffling, bucketing is one global shortest-first order (for evaluation)
    ev = BatchLoader(x, y, lengths, batch_size=16, shuffle=False, bucket=True)
    firsts = [int(b.lengths.min()) for b in ev]
    assert firsts == sorted(firsts)


def test_order_depends_on_seed_and_epoch_only_and_resumes_exactly():
    seqs, y = ragged_data(50, 8)
    x, lengths = pad_sequences(seqs, 8)
    kw = dict(batch_size=4, bucket=True, bucket_pool=3, seed=7)
    a = BatchLoader(x, y, lengths, **kw)
    run = [[b.index.tolist() for b in a] for _ in range(4)]
    assert run[0] != run[1]  # a new order each epoch
    other = BatchLoader(x, y, lengths, **{**kw, "seed": 8}).epoch_batches(0)
    assert [i.tolist() for i in other] != run[0]
    assert [i.tolist() for i in a.epoch_batches(1)] == run[1]  # pure function of (seed, epoch)
    # interrupted after 2 epochs, state saved (as a checkpoint would, via numpy scalars)
    b = BatchLoader(x, y, lengths, **kw)
    list(b), list(b)
    state = {k: np.asarray(v) for k, v in b.state_dict().items()}
    c = BatchLoader(x, y, lengths, **{**kw, "seed": 0})
    c.load_state_dict(state)
    assert [[bt.index.tolist() for bt in c] for _ in range(2)] == run[2:]
    with pytest.raises(KeyError, match="epoch"):
        c.load_state_dict({"seed": 1})


def test_no_lengths_keeps_full_width_and_bad_inputs_are_named():
    x = np.arange(20).reshape(10, 2)
    batches = list(BatchLoader(x, batch_size=4, shuffle=False))
    assert [b.x.shape for b in batches] == [(4, 2), (4, 2), (2, 2)] and batches[0].y is None
    assert batches[0].lengths is None and batches[2].index.tolist() == [8, 9]
    with pytest.raises(ValueError, match="N = 10"):
        BatchLoader(x, np.zeros(9))
    with pytest.raises(ValueError, match=r"lengths must lie in \[0, T = 2\]"):
        BatchLoader(x, lengths=np.full(10, 3))
    with pytest.raises(ValueError, match=r"shape \(10,\)"):
        BatchLoader(x, lengths=np.ones(10))
    with pytest.raises(ValueError, match="needs the sequence lengths"):
        BatchLoader(x, bucket=True)
    with pytest.raises(ValueError, match="batch_size"):
        BatchLoader(x, batch_size=0)
