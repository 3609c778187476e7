"""The LSTM forward without a cache (minidl/functional/lstm_inference.py) computes the training
forward's outputs to the last bit: with and without lengths, per word and dense, residual, in
blocks of steps that do not divide T; and the stack runs it under ``no_grad`` only."""

import numpy as np
import pytest

import minidl
from minidl import backend, nn
from minidl.errors import RangeError, ShapeError
from minidl.functional import lstm_inference, sequence
from minidl.functional.lstm import lstm_forward
from minidl.functional.lstm_inference import lstm_infer
from minidl.models import ImdbClassifier


def _layer(T, B, D, H, dtype, seed, bias=True, residual=None):
    """x = table[ids] with ids that repeat (few words, so the per-word path runs), states,
    weights; keyword arguments for ``residual``: None, "identity" (D = H) or "projected"."""
    r = np.random.default_rng(seed)
    table = r.standard_normal((12, D)).astype(dtype)
    ids = r.integers(0, 12, size=(T, B))
    w = {"weight_ih": 0.4 * r.standard_normal((4 * H, D)), "weight_hh": 0.4 * r.standard_normal((4 * H, H))}
    if bias:
        w.update(bias_ih=r.standard_normal(4 * H), bias_hh=r.standard_normal(4 * H))
    if residual == "projected":
        w["weight_res"] = r.standard_normal((H, D))
    w = {k: v.astype(dtype) for k, v in w.items()}
    states = [r.standard_normal((B, H)).astype(dtype) for _ in range(2)]
    return table, ids, states, w, r


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("lengths", ["none", "padded"])
@pytest.mark.parametrize("path", ["words", "dense"])
@pytest.mark.parametrize("residual", [None, "identity", "projected"])
def test_the_outputs_are_the_training_forward_s(dtype, lengths, path, residual):
    T, B, D, H = 19, 32, 64 if residual == "identity" else 10, 64
    assert sequence.block_size(4 * B * H, T) == 8  # blocks of 8, 8 and 3 steps
    table, ids, (h0, c0), w, r = _layer(T, B, D, H, dtype, seed=1, residual=residual)
    L = r.integers(1, T + 1, size=B) if lengths == "padded" else None
    if L is not None:
        L[0] = T  # the longest runs to the end; the others end in every block
    kw = dict(w, lengths=L, residual=residual is not None,
              input_rows=(table, ids) if path == "words" else None)
    (out, h_n, c_n), cache = lstm_forward(table[ids], h0, c0, **kw)
    assert (cache.rows is not None) == (path == "words")
    got = lstm_infer(table[ids], h0, c0, **kw)
    for want, have in zip((out, h_n, c_n), got):
        assert have.dtype == want.dtype
        np.testing.assert_array_equal(have, want)
    assert np.abs(c_n).max() > 0.1 and np.abs(out).max() > 0.1  # not trivially equal


def test_on_the_device_stand_in_it_is_one_block_and_the_same(device, to_dev):
    table, ids, (h0, c0), w, r = _layer(5, 3, 4, 4, np.float64, seed=2)
    L = np.array([5, 2, 4])
    args = [to_dev(a) for a in (table[ids], h0, c0)]
    w = {k: to_dev(v) for k, v in w.items()}
    (out, h_n, c_n), _ = lstm_forward(*args, **w, lengths=L)
    for want, have in zip((out, h_n, c_n), lstm_infer(*args, **w, lengths=L)):
        np.testing.assert_array_equal(backend.asnumpy(have), backend.asnumpy(want))


def test_no_bias_and_the_initial_state_kept():
    table, ids, (h0, c0), w, _ = _layer(4, 3, 5, 6, np.float64, seed=3, bias=False)
    h0_in, c0_in = h0.copy(), c0.copy()
    (out, h_n, c_n), _ = lstm_forward(table[ids], h0, c0, **w)
    got = lstm_infer(table[ids], h0, c0, **w)
    for want, have in zip((out, h_n, c_n), got):
        np.testing.assert_array_equal(have, want)
    np.testing.assert_array_equal(h0, h0_in)  # c0 is copied, never written
    np.testing.assert_array_equal(c0, c0_in)


@pytest.mark.parametrize("bad,err,match", [
    ("h0", ShapeError, r"lstm_infer: h0"),
    ("weight_res", RangeError, r"lstm_infer: weight_res is given but residual=False"),
])
def test_bad_input_names_the_function(bad, err, match):
    table, ids, (h0, c0), w, r = _layer(4, 3, 5, 6, np.float64, seed=4)
    if bad == "h0":
        h0 = h0[:, :5]
    else:
        w["weight_res"] = np.zeros((6, 5))
    with pytest.raises(err, match=match):
        lstm_infer(table[ids], h0, c0, **w)


def _count_calls(monkeypatch):
    calls = []

    def counted(*a, **k):
        calls.append(1)
        return lstm_infer(*a, **k)

    monkeypatch.setattr(nn.LSTM, "_infer_fn", staticmethod(counted))
    return calls


@pytest.mark.parametrize("bidirectional", [False, True])
def test_the_stack_runs_it_under_no_grad_only(bidirectional, monkeypatch):
    calls = _count_calls(monkeypatch)
    with backend.default_dtype(np.float64):
        minidl.manual_seed(0)
        layer = nn.LSTM(3, 4, num_layers=2, bidirectional=bidirectional)
    x = np.random.default_rng(5).standard_normal((6, 3, 3))
    L = np.array([6, 3, 5])
    out, (h_n, c_n) = layer(x, lengths=L)
    assert calls == []
    with minidl.no_grad():
        out2, (h_n2, c_n2) = layer(x, lengths=L)
    assert len(calls) == 2 * (2 if bidirectional else 1)  # every layer and direction
    for want, have in ((out, out2), (h_n, h_n2), (c_n, c_n2)):
        np.testing.assert_array_equal(have, want)
    layer.backward(np.ones_like(out))  # the first call's cache; the no_grad call kept none
    with pytest.raises(RuntimeError, match="no forward cache left"):
        layer.backward(np.ones_like(out))


def test_the_imdb_model_evaluates_per_word_the_same(monkeypatch):
    calls = _count_calls(monkeypatch)
    minidl.manual_seed(1)
    model = ImdbClassifier(50, 8, 16, cell="lstm", bidirectional=True, fc_dim=8, num_classes=2)
    model.eval()
    r = np.random.default_rng(6)
    ids = r.integers(1, 8, size=(5, 40))  # (B, T): few words, so the per-word path runs
    lengths = np.array([40, 12, 33, 7, 40])
    ids[np.arange(40)[None, :] >= lengths[:, None]] = 0
    want = model(ids, lengths)
    with minidl.no_grad():
        have = model(ids, lengths)
    assert len(calls) == 2
    assert want.dtype == np.float32 and np.abs(want).max() > 1e-3
    np.testing.assert_array_equal(have, want)


def test_last_steps_lists_each_sequence_once():
    L = sequence.make_lengths(np.array([3, 1, 3, 2]), 3, 4, np)
    ends = lstm_inference._last_steps(L, np)
    assert sorted(ends) == [0, 1, 2]
    assert [sorted(ends[t].tolist()) for t in (0, 1, 2)] == [[1], [3], [0, 2]]
    assert lstm_inference._last_steps(None, np) == {}


def test_wide_layers_project_block_by_block_to_the_same_outputs():
    """D·H ≥ 128·256: project_gate_major's row-major GEMMs, over 5 steps at once in training and
    blocks of 2, 2, 1 here. Another row count may take another BLAS kernel, so the float64
    outputs agree to rounding, not to the bit."""
    T, B, D, H = 5, 32, 128, 256
    assert sequence.block_size(4 * B * H, T) == 2
    table, ids, (h0, c0), w, r = _layer(T, B, D, H, np.float64, seed=7)
    w = {k: v * (0.1 if k.startswith("weight") else 1.0) for k, v in w.items()}
    L = r.integers(1, T + 1, size=B)
    (out, h_n, c_n), _ = lstm_forward(table[ids], h0, c0, **w, lengths=L)
    for want, have in zip((out, h_n, c_n), lstm_infer(table[ids], h0, c0, **w, lengths=L)):
        np.testing.assert_allclose(have, want, rtol=1e-12, atol=1e-13)
    assert np.abs(out).max() > 0.1
