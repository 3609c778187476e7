"""The reverse loop's flush of subnormal gradients (minidl/functional/subnormal.py): what it
zeroes, what it leaves bit for bit, and that a long float32 sequence really meets subnormals
without it (so the tests below are about something)."""

import numpy as np
import pytest

from minidl.functional import gru, lstm, rnn
from minidl.functional import sequence as seq
from minidl.functional.subnormal import FLUSH_EVERY, subnormal_floor, subnormal_flush

F32_TINY = np.finfo(np.float32).tiny


def _subnormal(a) -> int:
    """How many entries are subnormal (nonzero and below the dtype's smallest normal number)."""
    a = np.abs(np.asarray(a))
    return int(((a > 0) & (a < np.finfo(a.dtype).tiny)).sum())


def test_the_floor_is_tiny_over_eps():
    assert subnormal_floor(np, np.float32) == np.float32(2.0**-103)
    assert subnormal_floor(np, np.float64) == 2.0**-970
    assert subnormal_floor(np, np.float32).dtype == np.float32  # compared without upcasting


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_flush_zeroes_what_is_below_the_floor_and_nothing_else(dtype):
    floor = subnormal_floor(np, dtype)
    tiny = np.finfo(dtype).tiny
    g = np.array([[0.0, floor / 2, -floor / 2, floor, -floor, tiny / 8, -tiny],
                  [1.0, -3e-3, floor * 1.5, np.nan, np.inf, -np.inf, 7.0]], dtype=dtype)
    before = g.copy()
    flush = subnormal_flush(g)
    flush(g)
    below = np.abs(before) < floor  # NaN compares False: kept
    assert (g[below] == 0).all() and below.sum() == 5
    np.testing.assert_array_equal(g[~below], before[~below])  # bit for bit, NaN and ±inf included
    assert _subnormal(g) == 0


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_the_compiled_flush_sets_the_same_bits(dtype, monkeypatch):
    """The one-loop flush (numba, and the same loop as plain Python) against the three ufunc
    calls, compared as bit patterns: a flushed −floor/2 or −0 becomes +0 in both ways."""
    from minidl import backend
    from minidl.functional.subnormal import flush_loop

    floor = subnormal_floor(np, dtype)
    r = np.random.default_rng(5)
    g = (r.standard_normal((4, 9)) * np.where(r.random((4, 9)) < 0.5, floor, 1.0)).astype(dtype)
    g[0, :4] = [-0.0, -floor / 2, np.nan, -np.inf]
    bits = np.uint32 if dtype == np.float32 else np.uint64
    monkeypatch.setitem(backend._LOOPS, "on", False)
    want = g.copy()
    subnormal_flush(want)(want)
    ways = {"the loop as plain Python": lambda a: flush_loop.plain(a, floor)}
    monkeypatch.setitem(backend._LOOPS, "on", True)
    try:
        import numba  # noqa: F401

        ways["the loop compiled"] = lambda a: flush_loop(a, floor)
        ways["the reverse loop's flush"] = subnormal_flush(g)
    except ImportError:
        pass
    for name, flush in ways.items():
        got = g.copy()
        flush(got)
        assert np.array_equal(got.view(bits), want.view(bits)), name
    assert 5 < np.count_nonzero(want == 0) < g.size - 5  # some entries flushed, some kept


def test_nothing_is_flushed_off_the_host():
    from strict_device import StrictArray  # tests/ is on the path (conftest.py)

    assert subnormal_flush(StrictArray(np.zeros((2, 3), np.float32))) is None


def _decaying_loop(flush_on: bool, monkeypatch):
    """backward_through_time over 60 steps whose ∂L/∂h and carried ∂L/∂c shrink tenfold a
    step (from 1 and 2): they cross float32's subnormal range near step 20 from the end.
    Returns what each step saw: (dHs[t], c) per t."""
    if not flush_on:
        monkeypatch.setattr(seq, "subnormal_flush", lambda like: None)
    T, B, H = 60, 2, 3
    dHs = np.zeros((T, B, H), np.float32)
    dHs[-1] = np.linspace(0.5, 1.0, B * H, dtype=np.float32).reshape(B, H)
    c = np.full((B, H), 2.0, np.float32)
    seen = {}

    def step(t, j):
        seen[t] = (dHs[t].copy(), c.copy())
        np.multiply(c, np.float32(0.1), out=c)  # in place, as a carry is
        return dHs[t] * np.float32(0.1)

    seq.backward_through_time(dHs, step, carries=(c,))
    return seen


def test_the_loop_flushes_the_carried_gradients_and_keeps_the_rest_bit_for_bit(monkeypatch):
    """The flush runs after steps t = 4, 8, ... (FLUSH_EVERY), on what step t − 1 then sees;
    between flushes an entry below the floor lives on (shrinking tenfold a step, it stays far
    above the subnormal range for the three steps to the next flush)."""
    off = _decaying_loop(False, monkeypatch)
    monkeypatch.undo()
    on = _decaying_loop(True, monkeypatch)
    floor = subnormal_floor(np, np.float32)
    assert FLUSH_EVERY == 4  # the cadence the docstring and the chapter describe
    assert sum(_subnormal(h) + _subnormal(c) for h, c in off.values()) > 0  # without it they come
    assert sum(_subnormal(h) + _subnormal(c) for h, c in on.values()) == 0
    lingering = 0
    for t in off:
        after_a_flush = t + 1 < len(off) and (t + 1) % FLUSH_EVERY == 0  # step t + 1 ran and flushed
        for unflushed, flushed in zip(off[t], on[t]):
            kept = np.abs(unflushed) >= floor
            np.testing.assert_array_equal(flushed[kept], unflushed[kept])
            below = flushed[~kept]
            if after_a_flush:
                assert (below == 0).all(), t
            else:  # 0 if an earlier flush caught it, else untouched
                assert ((below == 0) | (below == unflushed[~kept])).all(), t
                lingering += int((below != 0).sum())
    assert lingering > 0  # the flush did skip the steps in between
    assert any((np.abs(h) < floor).any() and (h != 0).any() for h, _ in off.values())  # the floor was crossed


def _long_sequence(cell, rng):
    """A float32 sequence long enough that ∂L/∂h decays below float32's normal range."""
    T, B, D, H = 160, 3, 4, 4
    gates = {"lstm": 4, "gru": 3, "rnn": 1}[cell]
    x = rng.standard_normal((T, B, D)).astype(np.float32)
    h0 = rng.standard_normal((B, H)).astype(np.float32) * 0.1
    w_ih = rng.standard_normal((gates * H, D)).astype(np.float32) * 0.5
    w_hh = rng.standard_normal((gates * H, H)).astype(np.float32) * 0.3
    b = rng.standard_normal(gates * H).astype(np.float32) * 0.1
    if cell == "lstm":
        b[H: 2 * H] -= 2.0  # forget gates mostly closed: ∂L/∂c decays fast too
        return lambda: lstm.lstm_forward(x, h0, h0.copy(), w_ih, w_hh, b, b.copy()), lstm.lstm_backward, 3
    if cell == "gru":
        b[H: 2 * H] -= 2.0  # update gates mostly open to the new state: h forgets
        return lambda: gru.gru_forward(x, h0, w_ih, w_hh, b, b.copy()), gru.gru_backward, 2
    return lambda: rnn.rnn_forward(x, h0, w_ih, w_hh, b, b.copy()), rnn.rnn_backward, 2


@pytest.mark.parametrize("cell", ["lstm", "gru", "rnn"])
def test_a_long_float32_sequence_gets_the_same_gradients_without_the_subnormals(cell, monkeypatch):
    """Every gradient of a 160-step float32 layer equals the unflushed one to within 1e-25
    (a flushed entry is below 2⁻¹⁰³ ≈ 1e-31; what it would have added is smaller still),
    while the unflushed run's ∂L/∂x holds subnormals at the steps where the gradient dies."""
    runs = {}
    for flush_on in (False, True):
        forward, backward, n_out = _long_sequence(cell, np.random.default_rng(4))
        with monkeypatch.context() as m:
            if not flush_on:
                m.setattr(seq, "subnormal_flush", lambda like: None)
            outs, cache = forward()
            d_h_n = np.ones_like(outs[1])
            runs[flush_on] = backward((None, d_h_n) + (None,) * (n_out - 2), cache)
    off, on = runs[False], runs[True]
    assert _subnormal(off["x"]) > 0, "the sequence is too short to reach the subnormal range: the test proves nothing"
    # with the flush, ∂L/∂x of a step is 0 or built from carried entries ≥ 2⁻¹⁰³: its smallest
    # nonzero entries here are ~1e-33, five orders above the subnormal range, so no kernel's
    # rounding can bring one into it (an LSTM whose ∂L/∂c is not flushed has 52 here)
    assert _subnormal(on["x"]) == 0
    assert set(on) == set(off)
    for name in off:
        np.testing.assert_allclose(on[name], off[name], rtol=0, atol=1e-25, err_msg=name)
    assert np.abs(off["x"][-1]).max() > 1e-3  # the gradients that matter are there, unchanged
