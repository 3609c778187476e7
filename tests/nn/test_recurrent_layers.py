"""The fused sequence layers against an independent reference — a Python loop of the cells,
one sequence at a time, back-propagated by popping the cells' caches (BPTT) — and the
behaviour of lengths, padding, states and bad input."""

import numpy as np
import pytest
from fuzzing import (
    fuzz_test,
)
from recurrent_helpers import KINDS, PLAIN_KINDS, fuzz_cell, fuzz_recurrent, make_cell, make_layer, n_states

import minidl
from minidl import backend
from minidl.nn import recurrent, rnn_cells


def cell_loop_reference(kind, layer, x, states0, lengths, d_out, d_states_n):
    """Forward and backward of ``layer`` by stepping cells, one sequence at a time.

    x (T, B, D) host float64; states0 tuple of (L·dirs, B, H); lengths list.
    Returns out, states_n, dx, d_states0, {param name: grad}.
    """
    T, B, _ = x.shape
    H, L, dirs = layer.hidden_size, layer.num_layers, layer.num_directions
    ns = n_states(kind)
    cells = {}
    for lay in range(L):
        for d in range(dirs):
            sfx = layer._suffix(lay, d)
            cell = make_cell(kind, layer.input_size if lay == 0 else H * dirs, H, layer.bias)
            names = ("weight_ih", "weight_hh") + (("bias_ih", "bias_hh") if layer.bias else ())
            sd = {n: layer.state_dict()[n + sfx] for n in names}
            cell.load_state_dict({k: backend.asnumpy(v) for k, v in sd.items()})
            cells[lay, d] = cell

    def steps(b, d):
        return range(lengths[b]) if d == 0 else range(lengths[b] - 1, -1, -1)

    # forward
    inp = x
    layer_inputs = []
    states_n = [np.zeros((L * dirs, B, H)) for _ in range(ns)]
    for lay in range(L):
        layer_inputs.append(inp)
        out = np.zeros((T, B, dirs * H))
        for d in range(dirs):
            idx = lay * dirs + d
            for b in range(B):
                st = tuple(s[idx, b : b + 1] for s in states0)
                for t in steps(b, d):
                    st = cells[lay, d](inp[t, b : b + 1], st if ns == 2 else st[0])
                    st = st if ns == 2 else (st,)
                    out[t, b, d * H : (d + 1) * H] = st[0][0]
                for k in range(ns):
                    states_n[k][idx, b] = st[k][0]
        inp = out
    # backward, last layer first; within a cell, last call first
    d_states0 = [np.zeros((L * dirs, B, H)) for _ in range(ns)]
    d_layer = d_out
    for lay in range(L - 1, -1, -1):
        dx = np.zeros_like(layer_inputs[lay])
        for d in range(dirs):
            idx = lay * dirs + d
            for b in range(B - 1, -1, -1):
                dst = [d_states_n[k][idx, b : b + 1].copy() for k in range(ns)]
                for t in reversed(list(steps(b, d))):
                    dst[0] = dst[0] + d_layer[t, b : b + 1, d * H : (d + 1) * H]
                    g = cells[lay, d].backward(*dst)
                    dx[t, b : b + 1] += g[0]
                    dst = list(g[1:])
                for k in range(ns):
                    d_states0[k][idx, b] = dst[k][0]
        d_layer = dx
    grads = {}
    for (lay, d), cell in cells.items():
        for n, p in cell.named_parameters():
            grads[n + layer._suffix(lay, d)] = p.grad
    return inp, states_n, d_layer, d_states0, grads


@pytest.mark.parametrize("bias", [True, False])
@pytest.mark.parametrize("config", [(1, False), (2, True), (3, False)], ids=["1uni", "2bi", "3uni"])
@pytest.mark.parametrize("kind", PLAIN_KINDS)
def test_layer_equals_loop_of_cells(kind, config, bias, device, to_dev):
    num_layers, bi = config
    T, B, D, H = 5, 3, 2, 3
    lengths = [5, 2, 4]
    layer = make_layer(kind, D, H, num_layers, bi, bias=bias)
    rng = np.random.default_rng(0)
    for p in layer.parameters():
        p.data[...] = rng.uniform(-0.8, 0.8, p.data.shape)
    LD = num_layers * layer.num_directions
    x = rng.standard_normal((T, B, D))
    states0 = tuple(rng.standard_normal((LD, B, H)) for _ in range(n_states(kind)))
    d_out = rng.standard_normal((T, B, layer.num_directions * H))
    for t in range(T):  # the upstream gradient at padded steps must be ignored
        for b in range(B):
            if t >= lengths[b]:
                d_out[t, b] = 0
    d_states_n = tuple(rng.standard_normal((LD, B, H)) for _ in range(n_states(kind)))
    ref = cell_loop_reference(kind, layer, x, states0, lengths, d_out, d_states_n)

    layer.to(device)
    hx = tuple(to_dev(s) for s in states0)
    out, st_n = layer(to_dev(x), hx if n_states(kind) == 2 else hx[0], lengths=lengths)
    st_n = st_n if n_states(kind) == 2 else (st_n,)
    grads = layer.backward(to_dev(d_out), *(to_dev(s) for s in d_states_n))
    a = backend.asnumpy
    np.testing.assert_allclose(a(out), ref[0], rtol=1e-10, atol=1e-12)
    for s, r in zip(st_n, ref[1]):
        np.testing.assert_allclose(a(s), r, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(a(grads[0]), ref[2], rtol=1e-10, atol=1e-12)
    for g, r in zip(grads[1:], ref[3]):
        np.testing.assert_allclose(a(g), r, rtol=1e-10, atol=1e-12)
    for n, p in layer.named_parameters():
        np.testing.assert_allclose(a(p.grad), ref[4][n], rtol=1e-10, atol=1e-12, err_msg=n)


@pytest.mark.parametrize("kind", KINDS)
def test_padding_changes_nothing(kind, device, to_dev):
    """Whatever is in the padding: same outputs, states and gradients; zero output and zero
    gradient at padded steps."""
    T, B, D, H = 4, 3, 2, 2
    lengths = np.array([2, 4, 1])
    layer = make_layer(kind, H if kind == "res_lstm" else D, H, 2, True, batch_first=True).to(device)
    D = layer.input_size
    rng = np.random.default_rng(3)
    x = rng.standard_normal((B, T, D))
    pad = np.arange(T)[None, :] >= lengths[:, None]
    x2 = x.copy()
    x2[pad] = 1e3 * rng.standard_normal((int(pad.sum()), D))
    d_out = rng.standard_normal((B, T, 2 * H))
    d_n = [rng.standard_normal((4, B, H)) for _ in range(n_states(kind))]
    results = []
    for xx in (x, x2):
        layer.zero_grad()
        out, st = layer(to_dev(xx), lengths=lengths)
        grads = layer.backward(to_dev(d_out), *(to_dev(g) for g in d_n))
        results.append((out, st, grads, [p.grad.copy() for p in layer.parameters()]))
    a = backend.asnumpy
    (o1, s1, g1, p1), (o2, s2, g2, p2) = results
    np.testing.assert_array_equal(a(o1), a(o2))
    assert np.all(a(o1)[pad] == 0)
    for u, v in zip(minidl.module._flatten(s1), minidl.module._flatten(s2)):
        np.testing.assert_array_equal(a(u), a(v))
    for u, v in zip(g1, g2):
        np.testing.assert_array_equal(a(u), a(v))
    assert np.all(a(g1[0])[pad] == 0)
    for u, v in zip(p1, p2):
        np.testing.assert_allclose(a(u), a(v), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("kind", KINDS)
def test_full_lengths_equal_no_lengths_and_trailing_padding_is_skipped(kind, device, to_dev):
    layer = make_layer(kind, 2 if kind != "res_lstm_proj" else 3, 2, 2, True).to(device)
    rng = np.random.default_rng(4)
    x = rng.standard_normal((5, 2, layer.input_size))
    out_a, st_a = layer(to_dev(x))
    out_b, st_b = layer(to_dev(x), lengths=[5, 5])
    a = backend.asnumpy
    np.testing.assert_array_equal(a(out_a), a(out_b))
    # every sequence shorter than T: the steps after the longest one are not run
    out_c, st_c = layer(to_dev(x), lengths=[3, 2])
    out_d, st_d = layer(to_dev(x[:3]), lengths=[3, 2])
    assert out_c.shape == (5, 2, 4)
    np.testing.assert_allclose(a(out_c)[:3], a(out_d), rtol=1e-13, atol=1e-14)
    assert np.all(a(out_c)[3:] == 0)
    layer.clear_caches()


def test_lstm_cell_bptt_matches_fused_layer_without_lengths(device, to_dev):
    """The teaching loop of the module docstring: a cell stepped T times, then T backward calls."""
    T, B, D, H = 4, 2, 3, 2
    rng = np.random.default_rng(5)
    with backend.default_dtype(np.float64):
        lstm = recurrent.LSTM(D, H)
        cell = rnn_cells.LSTMCell(D, H)
    cell.load_state_dict({k[:-3]: v for k, v in lstm.state_dict().items()})
    lstm.to(device)
    cell.to(device)
    x = to_dev(rng.standard_normal((T, B, D)))
    dy = to_dev(rng.standard_normal((T, B, H)))
    out, (h_n, c_n) = lstm(x)
    dx, dh0, dc0 = lstm.backward(dy)
    h = c = None
    hs = []
    for t in range(T):
        h, c = cell(x[t], None if h is None else (h, c))
        hs.append(h)
    dh = dc = None
    dxs = [None] * T
    for t in reversed(range(T)):
        dxs[t], dh, dc = cell.backward(dy[t] if dh is None else dh + dy[t], dc)
    a = backend.asnumpy
    np.testing.assert_allclose(a(out), np.stack([a(h) for h in hs]), rtol=1e-12)
    np.testing.assert_allclose(a(dx), np.stack([a(g) for g in dxs]), rtol=1e-10)
    np.testing.assert_allclose(a(dh0), a(dh)[None], rtol=1e-10)
    np.testing.assert_allclose(a(dc0), a(dc)[None], rtol=1e-10)
    for n, p in cell.named_parameters():
        np.testing.assert_allclose(a(p.grad), a(getattr(lstm, n + "_l0").grad), rtol=1e-10)


def test_parameter_names_shapes_and_init():
    lstm = recurrent.LSTM(5, 4, num_layers=2, bidirectional=True)
    names = [n for n, _ in lstm.named_parameters()]
    expected = []
    for lay in range(2):
        for sfx in ("", "_reverse"):
            expected += [f"{w}_l{lay}{sfx}" for w in ("weight_ih", "weight_hh", "bias_ih", "bias_hh")]
    assert names == expected
    assert lstm.weight_ih_l0.shape == (16, 5)
    assert lstm.weight_ih_l1_reverse.shape == (16, 8)
    assert lstm.weight_hh_l1.shape == (16, 4)
    assert lstm.weight_ih_l0.dtype == np.float32
    for p in lstm.parameters():
        assert np.abs(p.data).max() <= 0.5  # U(−1/√H, 1/√H), H = 4
    res = recurrent.LSTM(5, 4, num_layers=2, residual=True)
    assert res.weight_res_l0.shape == (4, 5)
    assert not hasattr(res, "weight_res_l1")  # layer 1: input 4 = hidden 4, identity shortcut


def test_no_grad_keeps_no_cache_and_eval_disables_dropout():
    lstm = recurrent.LSTM(2, 3, num_layers=2, dropout=0.5)
    x = np.random.default_rng(0).standard_normal((4, 2, 2)).astype(np.float32)
    with minidl.no_grad():
        lstm(x)
    assert lstm._caches == []
    lstm.eval()
    o1, _ = lstm(x)
    o2, _ = lstm(x)
    np.testing.assert_array_equal(o1, o2)
    assert o1.dtype == np.float32


@pytest.mark.parametrize("lengths, err", [
    ([0, 2], ValueError), ([3, 5], ValueError), ([1, 2, 3], ValueError), ([1.5, 2], TypeError),
])
def test_bad_lengths_are_refused(lengths, err):
    lstm = recurrent.LSTM(2, 3)
    x = np.zeros((4, 2, 2), dtype=np.float32)
    with pytest.raises(err, match="lengths"):
        lstm(x, lengths=lengths)


def test_bad_shapes_and_dtypes_are_refused():
    lstm = recurrent.LSTM(2, 3, num_layers=2)
    with pytest.raises(ValueError, match=r"\(T, B, D\) with D = 2"):
        lstm(np.zeros((4, 2, 5), dtype=np.float32))
    with pytest.raises(ValueError, match=r"\(T, B, D\)"):
        lstm(np.zeros((4, 2), dtype=np.float32))
    with pytest.raises(TypeError, match="dtype float32"):
        lstm(np.zeros((4, 2, 2)))
    with pytest.raises(ValueError, match=r"\(2, 2, 3\)"):
        lstm(np.zeros((4, 2, 2), dtype=np.float32), (np.zeros((1, 2, 3), np.float32),) * 2)
    with pytest.raises(ValueError, match="hidden_size"):
        recurrent.LSTM(2, 0)
    x = np.zeros((4, 2, 2), dtype=np.float32)
    with pytest.raises(TypeError, match=r"tuple \(h0, c0\)"):
        lstm(x, np.zeros((2, 2, 3), np.float32))
    with pytest.raises(TypeError, match="one array h0"):
        recurrent.GRU(2, 3)(x, (np.zeros((1, 2, 3), np.float32),))
    with pytest.raises(ValueError, match="nonlinearity"):
        recurrent.RNN(2, 3, nonlinearity="sigmoid")
    with pytest.raises(ValueError, match="dropout"):
        recurrent.LSTM(2, 3, dropout=1.0)


@pytest.mark.parametrize("kind", ["lstm", "gru", "gru_v1"])
@pytest.mark.parametrize("n", [1, 2, 3])
def test_backward_in_blocks_of_steps_is_exact(kind, n, monkeypatch, device, to_dev):
    """The local derivatives are computed a block of steps at a time (sized for the cache);
    block boundaries must not matter."""
    from minidl.functional import sequence

    layer = make_layer(kind, 2, 3, 1, True).to(device)
    rng = np.random.default_rng(8)
    x = to_dev(rng.standard_normal((5, 3, 2)))
    d_out = to_dev(rng.standard_normal((5, 3, 6)))
    d_n = [to_dev(rng.standard_normal((2, 3, 3))) for _ in range(n_states(kind))]
    ref = None
    for chunk in (None, n):
        if chunk is not None:
            monkeypatch.setattr(sequence, "block_size", lambda step_size, T, c=chunk: c)
        layer.zero_grad()
        layer(x, lengths=[5, 2, 4])
        got = [backend.asnumpy(g) for g in layer.backward(d_out, *d_n)]
        got += [backend.asnumpy(p.grad).copy() for p in layer.parameters()]
        if ref is None:
            ref = got
    for a, b in zip(ref, got):
        np.testing.assert_allclose(a, b, rtol=1e-13, atol=1e-15)


@pytest.mark.parametrize("kind, gates", [("lstm", 4), ("gru", 3), ("gru_v1", 3)])
def test_blocks_of_steps_are_sized_by_one_steps_derivatives(kind, gates, monkeypatch):
    """The block of steps whose local derivatives are computed in one call is sized from what
    one step holds, batch × gates × hidden numbers (sequence.block_size keeps a block near 64K
    numbers, in the cache)."""
    from minidl.functional import sequence

    asked, real = [], sequence.block_size

    def recorded(step_size, T):
        asked.append((step_size, T))
        return real(step_size, T)
    monkeypatch.setattr(sequence, "block_size", recorded)
    layer = make_layer(kind, 2, 5, 1, False)
    x = np.random.default_rng(9).standard_normal((4, 3, 2))
    out = layer(x)[0]
    layer.backward(np.ones_like(out))
    assert asked == [(3 * gates * 5, 4)]


@pytest.mark.parametrize("kind", ["lstm", "gru", "gru_orig"])
def test_saturated_gates_are_exact_and_silent(kind):
    """Huge pre-activations make e^{−z} overflow to inf inside the one-exp gate trick
    (σ = 1/inf = 0, which is right): outputs and gradients stay finite, and NumPy must not
    warn (the layers and cells silence that one harmless overflow)."""
    import warnings

    rng = np.random.default_rng(0)
    T, B, D, H = 4, 3, 5, 6
    x = (rng.standard_normal((T, B, D)) * 1e3).astype(np.float32)
    with backend.default_dtype(np.float32):
        layer = (recurrent.LSTM(D, H) if kind == "lstm" else recurrent.GRU(D, H, reset_after=kind == "gru"))
        cell = make_cell(kind, D, H, True).float()
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # any RuntimeWarning fails the test
        out, _ = layer(x)
        dx = layer.backward(np.ones_like(out))[0]
        h = np.zeros((B, H), np.float32)
        state = (h, h) if kind == "lstm" else h
        y = cell(x[0], state)
    assert np.isfinite(out).all() and np.isfinite(dx).all()
    assert all(np.isfinite(a).all() for a in (y if isinstance(y, tuple) else (y,)))


@pytest.mark.parametrize("batch_first", [False, True], ids=["time_first", "batch_first"])
@pytest.mark.parametrize("kind", KINDS)
def test_backward_when_every_sequence_is_shorter_than_the_padding(kind, batch_first, device, to_dev):
    """max(lengths) = 3 < T = 5: the steps after the longest sequence are not run, so the
    backward pads dx with zero steps back to x's shape. Same gradients as on x cut to 3 steps
    (a mutant that padded T + 3 steps instead of T − 3 passed every other test)."""
    layer = make_layer(kind, 2 if kind != "res_lstm_proj" else 3, 2, 2, True, batch_first=batch_first).to(device)
    rng = np.random.default_rng(7)
    x = rng.standard_normal((5, 2, layer.input_size))
    d_out = rng.standard_normal((5, 2, 4))
    d_out[3:] = 0  # the padded steps' outputs are constant zeros: no gradient reaches them
    t_axis = lambda a: a.swapaxes(0, 1) if batch_first else a  # noqa: E731  (time-major <-> the layer's layout)
    a = backend.asnumpy
    grads = []
    for steps in (5, 3):  # padded to T = 5, then cut to the 3 steps that run
        layer(to_dev(t_axis(x[:steps])), lengths=[3, 2])
        grads.append([a(g) for g in layer.backward(to_dev(t_axis(d_out[:steps])), *([None] * n_states(kind)))])
    (dx, *d_states), (dx_cut, *d_states_cut) = grads
    dx, dx_cut = t_axis(dx), t_axis(dx_cut)
    assert dx.shape == x.shape and np.all(dx[3:] == 0)
    np.testing.assert_allclose(dx[:3], dx_cut, rtol=1e-13, atol=1e-14)
    for g, g_cut in zip(d_states, d_states_cut):
        np.testing.assert_allclose(g, g_cut, rtol=1e-13, atol=1e-14)
    layer.clear_caches()


# ---------------------------------------------- bad input and fuzzing (tests/bad_inputs.py, tests/fuzzing.py)


FUZZ = {**{f"nn.{n}": (lambda data, n=n: fuzz_recurrent(n, data)) for n in ["RNN", "LSTM", "GRU"]},
        **{f"nn.{n}": (lambda data, n=n: fuzz_cell(n, data)) for n in ["RNNCell", "LSTMCell", "GRUCell"]}}
test_fuzz = fuzz_test(FUZZ)


@pytest.mark.parametrize("kind", PLAIN_KINDS)
def test_a_stack_fed_input_rows_returns_the_dense_gradients(kind):
    """Two bidirectional layers fed ``input_rows = (table, ids)``: the backward returns ∂L/∂table
    as a RowGrad (the dense ∂L/∂x summed per id) followed by the same initial-state gradients
    as the dense call, and leaves the same parameter gradients (a mutant that dropped either
    part of the returned tuple passed every other test of this file)."""
    from minidl.functional.embedding import RowGrad

    rng = np.random.default_rng(11)
    T, B, D, H, V = 4, 3, 2, 2, 6
    layer = make_layer(kind, D, H, num_layers=2, bidirectional=True)
    table, ids = rng.standard_normal((V, D)), rng.integers(0, V, size=(T, B))
    ids[0, :2] = ids[2, 1] = 3  # a word more than once
    d_out = rng.standard_normal((T, B, 2 * H))
    d_states = [rng.standard_normal((4, B, H)) for _ in range(n_states(kind))]
    results = []
    for rows in (None, (table, ids)):
        layer.zero_grad()
        layer(table[ids], **({} if rows is None else {"input_rows": rows}))
        grads = layer.backward(d_out, *d_states)
        results.append((grads, {n: p.grad.copy() for n, p in layer.named_parameters()}))
    (dense, dense_params), (by_rows, rows_params) = results
    assert len(by_rows) == len(dense) == 1 + n_states(kind)
    assert isinstance(by_rows[0], RowGrad)
    d_table = np.zeros_like(table)
    np.add.at(d_table, ids.reshape(-1), dense[0].reshape(-1, D))
    from_rows = np.zeros_like(table)
    from_rows[by_rows[0].index] = by_rows[0].rows
    np.testing.assert_allclose(from_rows, d_table, rtol=1e-12, atol=1e-14)
    for g_rows, g_dense in zip(by_rows[1:], dense[1:]):
        assert np.abs(g_dense).max() > 1e-3  # the initial states do receive gradient
        np.testing.assert_allclose(g_rows, g_dense, rtol=1e-12, atol=1e-14)
    for name, g in dense_params.items():
        np.testing.assert_allclose(rows_params[name], g, rtol=1e-12, atol=1e-14, err_msg=name)


@pytest.mark.parametrize("bidirectional", [False, True], ids=["one_way", "bidirectional"])
@pytest.mark.parametrize("kind", KINDS)
def test_a_nan_stays_out_of_the_padding(kind, bidirectional):
    """Padded steps output exactly 0 and pass no gradient, even where a NaN reaches them: a NaN
    in a sequence's last real input, or in the upstream gradient at a padded step (``x · 0``
    would keep it: NaN · 0 is NaN). Found by the fuzz test with 300 examples (seed 31)."""
    D = H = 2  # res_lstm needs D = H
    layer = make_layer(kind, D, H, bidirectional=bidirectional)
    x = np.random.default_rng(0).standard_normal((3, 2, D))
    x[0, 0, 0] = np.nan  # sequence 0 has one real step: its state is NaN from there on
    out, _ = layer(x, lengths=[1, 3])
    assert (out[1:, 0] == 0).all() and np.isnan(out[0, 0]).any()
    assert np.isfinite(out[:, 1]).all()  # the other sequence is untouched
    layer.zero_grad()
    x[0, 0, 0] = 0.5
    out, _ = layer(x, lengths=[1, 3])
    d_out = np.ones_like(out)
    d_out[1:, 0] = np.nan  # upstream gradient at sequence 0's padded steps
    dx = layer.backward(d_out)[0]
    assert np.isfinite(dx).all() and (dx[1:, 0] == 0).all()
    assert all(np.isfinite(p.grad).all() for p in layer.parameters())
