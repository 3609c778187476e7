"""The GRU forward without a cache (minidl/functional/gru_inference.py) computes the training
forward's outputs to the last bit, in both forms, with and without lengths, per word and dense,
in blocks of steps that do not divide T; and the GRU stack runs it under ``no_grad`` only."""

import numpy as np
import pytest

import minidl
from minidl import backend, nn
from minidl.errors import ShapeError
from minidl.functional import sequence
from minidl.functional.gru import gru_forward
from minidl.functional.gru_inference import gru_infer


def _layer(T, B, D, H, dtype, seed, bias=True):
    """x = table[ids] with ids that repeat (few words, so the per-word path runs), h0, weights."""
    r = np.random.default_rng(seed)
    table = r.standard_normal((12, D)).astype(dtype)
    ids = r.integers(0, 12, size=(T, B))
    w = {"weight_ih": 0.4 * r.standard_normal((3 * H, D)), "weight_hh": 0.4 * r.standard_normal((3 * H, H))}
    if bias:
        w.update(bias_ih=r.standard_normal(3 * H), bias_hh=r.standard_normal(3 * H))
    w = {k: v.astype(dtype) for k, v in w.items()}
    return table, ids, r.standard_normal((B, H)).astype(dtype), w, r


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("lengths", ["none", "padded"])
@pytest.mark.parametrize("path", ["words", "dense"])
@pytest.mark.parametrize("reset_after", [True, False])
@pytest.mark.parametrize("bias", [True, False])
def test_the_outputs_are_the_training_forward_s(dtype, lengths, path, reset_after, bias):
    T, B, D, H = 19, 32, 10, 64
    assert sequence.block_size(3 * B * H, T) == 10  # blocks of 10 and 9 steps
    table, ids, h0, w, r = _layer(T, B, D, H, dtype, seed=1, bias=bias)
    L = r.integers(1, T + 1, size=B) if lengths == "padded" else None
    if L is not None:
        L[0] = T
    kw = dict(w, lengths=L, reset_after=reset_after, input_rows=(table, ids) if path == "words" else None)
    (out, h_n), cache = gru_forward(table[ids], h0, **kw)
    assert (cache.rows is not None) == (path == "words")
    got = gru_infer(table[ids], h0, **kw)
    for want, have in zip((out, h_n), got):
        assert have.dtype == want.dtype
        np.testing.assert_array_equal(have, want)
    assert np.abs(out).max() > 0.1 and np.abs(h_n).max() > 0.1  # not trivially equal


@pytest.mark.parametrize("reset_after", [True, False])
def test_on_the_device_stand_in_it_is_one_block_and_the_same(reset_after, device, to_dev):
    table, ids, h0, w, _ = _layer(5, 3, 4, 4, np.float64, seed=2)
    L = np.array([5, 2, 4])
    args = [to_dev(a) for a in (table[ids], h0)]
    w = {k: to_dev(v) for k, v in w.items()}
    (out, h_n), _ = gru_forward(*args, **w, lengths=L, reset_after=reset_after)
    for want, have in zip((out, h_n), gru_infer(*args, **w, lengths=L, reset_after=reset_after)):
        np.testing.assert_array_equal(backend.asnumpy(have), backend.asnumpy(want))


def test_bad_input_names_the_function():
    table, ids, h0, w, _ = _layer(4, 3, 5, 6, np.float64, seed=4)
    with pytest.raises(ShapeError, match=r"gru_infer: h0"):
        gru_infer(table[ids], h0[:, :5], **w)


@pytest.mark.parametrize("reset_after", [True, False])
def test_the_stack_runs_it_under_no_grad_only(reset_after, monkeypatch):
    calls = []

    def counted(*a, **k):
        calls.append(k["reset_after"])
        return gru_infer(*a, **k)

    monkeypatch.setattr(nn.GRU, "_infer_fn", staticmethod(counted))
    with backend.default_dtype(np.float64):
        minidl.manual_seed(0)
        layer = nn.GRU(3, 4, num_layers=2, bidirectional=True, reset_after=reset_after)
    x = np.random.default_rng(5).standard_normal((6, 3, 3))
    L = np.array([6, 3, 5])
    out, h_n = layer(x, lengths=L)
    assert calls == []
    with minidl.no_grad():
        out2, h_n2 = layer(x, lengths=L)
    assert calls == [reset_after] * 4  # every layer and direction, in the layer's form
    np.testing.assert_array_equal(out2, out)
    np.testing.assert_array_equal(h_n2, h_n)
    layer.backward(np.ones_like(out))
    with pytest.raises(RuntimeError, match="no forward cache left"):
        layer.backward(np.ones_like(out))


@pytest.mark.parametrize("reset_after", [True, False])
def test_wide_layers_project_block_by_block_to_the_same_outputs(reset_after):
    """D·H ≥ 128·256: row-major projection GEMMs of other row counts than training's (blocks of
    2, 2, 1 steps): equal to rounding in float64."""
    T, B, D, H = 5, 32, 128, 256
    assert sequence.block_size(3 * B * H, T) == 2
    table, ids, h0, w, r = _layer(T, B, D, H, np.float64, seed=7)
    w = {k: v * (0.1 if k.startswith("weight") else 1.0) for k, v in w.items()}
    L = r.integers(1, T + 1, size=B)
    (out, h_n), _ = gru_forward(table[ids], h0, **w, lengths=L, reset_after=reset_after)
    for want, have in zip((out, h_n), gru_infer(table[ids], h0, **w, lengths=L, reset_after=reset_after)):
        np.testing.assert_allclose(have, want, rtol=1e-12, atol=1e-13)
    assert np.abs(out).max() > 0.1
