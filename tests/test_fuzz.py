"""Fuzzing what is not a layer: the data helpers and the optimizers (tests/fuzzing.py says
what a fuzz entry checks). Each layer's entries live beside its tests (``FUZZ`` in
tests/nn/test_<layer>.py); the coverage test at the end reads them all and fails for a public
layer or optimizer without one.
"""

from __future__ import annotations

import numpy as np
from bad_inputs import declared
from fuzzing import fuzz_test, mostly
from hypothesis import strategies as st

import minidl
from minidl import nn, optim


# ------------------------------------------------------------------ data helpers
def fuzz_pad_sequences(data):
    from minidl.data import pad_sequences

    seqs = data.draw(st.lists(st.lists(st.integers(1, 50), max_size=6), max_size=4), label="sequences")
    max_len = data.draw(mostly([1, 3, 5], [0, -1, 2.5]), label="max_len")
    truncate, pad = data.draw(mostly(["pre", "post"], ["left"])), data.draw(mostly(["pre", "post"], [None]))
    ids, lengths = pad_sequences(seqs, max_len, truncate=truncate, pad=pad)
    assert ids.shape == (len(seqs), max_len) and lengths.tolist() == [min(len(q), max_len) for q in seqs]
    for row, q, n in zip(ids, seqs, lengths):
        kept = q[len(q) - n:] if truncate == "pre" else q[:n]
        real = row[:n] if pad == "post" else row[max_len - n:]
        assert real.tolist() == kept and (row != 0).sum() == n


def fuzz_batch_loader(data):
    from minidl.data import BatchLoader

    n, t = data.draw(mostly([1, 3, 5], [0]), label="N"), data.draw(st.integers(1, 4), label="T")
    x = np.arange(n * t).reshape(n, t)
    lengths = np.array(data.draw(st.lists(st.integers(0, t), min_size=n, max_size=n)), dtype=np.int64)
    if data.draw(mostly([False], [True])):
        lengths = lengths + t + 1  # longer than the rows: refused
    kw = dict(batch_size=data.draw(mostly([1, 2, 4], [0]), label="batch_size"), shuffle=data.draw(st.booleans()),
              bucket=data.draw(st.booleans()), drop_last=data.draw(st.booleans()))
    loader = BatchLoader(x, np.arange(n), lengths, **kw)
    seen = [i for batch in loader for i in batch.index.tolist()]
    for batch in loader:
        assert batch.x.shape[1] == max(batch.lengths.max(), 1) or batch.x.shape[1] == t
        np.testing.assert_array_equal(batch.x, x[batch.index][:, :batch.x.shape[1]])
    expected = n - n % kw["batch_size"] if kw["drop_last"] else n
    assert len(seen) == expected and len(set(seen)) == expected


# ------------------------------------------------------------------ optimizers
SETTINGS = mostly([0.0, 1e-3, 0.5, 0.9], [1.0, -0.1, float("nan"), float("inf"), "0.1", None])


def fuzz_optimizer(name, data):
    p = minidl.Parameter(np.array([0.5, -1.0]))
    p.grad[:] = [0.3, -0.2]
    lr = data.draw(SETTINGS, label="lr")
    if name == "SGD":
        kw = dict(momentum=data.draw(SETTINGS), weight_decay=data.draw(SETTINGS),
                  nesterov=data.draw(st.booleans()))
        opt = optim.SGD([p], lr, **kw)
    else:
        kw = dict(betas=(data.draw(SETTINGS), data.draw(SETTINGS)),
                  eps=data.draw(SETTINGS), weight_decay=data.draw(SETTINGS))
        opt = optim.Adam([p], lr, **kw)
    for _ in range(2):
        opt.step()
    assert np.isfinite(p.data).all()
    norm = optim.clip_grad_norm_([p], data.draw(SETTINGS, label="max_norm"))
    assert np.isfinite(norm)


FUZZ_HERE = {
    **{f"optim.{n}": (lambda data, n=n: fuzz_optimizer(n, data)) for n in ["SGD", "Adam"]},
    "data.pad_sequences": fuzz_pad_sequences,
    "data.BatchLoader": fuzz_batch_loader,
}
test_fuzz = fuzz_test(FUZZ_HERE)


def test_every_public_layer_and_optimizer_is_fuzzed():
    entries = set(FUZZ_HERE)
    for module_entries in declared("FUZZ").values():
        assert not entries & set(module_entries), f"fuzzed twice: {sorted(entries & set(module_entries))}"
        entries |= set(module_entries)
    composites = {"nn.Sequential", "nn.BasicBlock"}  # made of layers fuzzed one by one
    public = {f"nn.{n}" for n in nn.__all__
              if isinstance(getattr(nn, n), type) and issubclass(getattr(nn, n), nn.Module) and n != "Module"}
    missing = public - composites - entries
    assert not missing and {"optim.SGD", "optim.Adam"} <= entries, sorted(missing)
