"""The input products once per distinct id (minidl/functional/distinct_rows.py): the same
numbers as the dense projection and the dense backward (∂L/∂table summed per word), in the
recurrent layers, the stack and the IMDB model, and clear errors for a (table, ids) pair
that cannot be x's source."""

import numpy as np
import pytest

import minidl
from minidl import backend
from minidl.errors import DTypeError, RangeError, ShapeError
from minidl.functional import distinct_rows, gru, lstm, rnn
from minidl.functional import sequence as seq
from minidl.functional.distinct_rows import (
    add_row_grads,
    check_input_rows,
    project_rows,
    project_steps,
    sum_by_word,
)
from minidl.functional.embedding import RowGrad
from minidl.models import ImdbClassifier
from minidl.nn import GRU, LSTM, RNN

rng = np.random.default_rng(0)


def _embedded(T=7, B=3, D=5, V=6):
    """A small vocabulary, so ids repeat within and across steps; x = table[ids] (float64)."""
    table = rng.standard_normal((V, D))
    ids = rng.integers(0, V, size=(T, B))
    return table, ids, table[ids]


def _table_grad(dx, ids, V):
    """∂L/∂table (V, D) from a layer's ``x`` gradient: scattered from a RowGrad (whose rows
    must be distinct), or summed with ``add.at`` from a dense dx shaped like ids + (D,)."""
    if isinstance(dx, RowGrad):
        assert len(np.unique(dx.index)) == dx.index.size
        out = np.zeros((V, dx.rows.shape[1]), dtype=dx.rows.dtype)
        out[dx.index] = dx.rows
        return out
    out = np.zeros((V, dx.shape[-1]), dtype=dx.dtype)
    np.add.at(out, ids.reshape(-1), dx.reshape(-1, dx.shape[-1]))
    return out


@pytest.mark.parametrize("D,H", [(5, 4), (128, 256)])  # the second: project_gate_major's row-major path
@pytest.mark.parametrize("gates", [None, 3, 4])
@pytest.mark.parametrize("bias", [True, False])
def test_projection_per_distinct_id_is_the_dense_projection(D, H, gates, bias):
    table, ids, x = _embedded(T=4, B=3, D=D)
    n = H * (gates or 1)
    WxT, b = rng.standard_normal((D, n)), (rng.standard_normal(n) if bias else None)
    dense = seq.project_inputs(x, WxT, b) if gates is None else seq.project_gate_major(x, WxT, b, gates)
    distinct, where = np.unique(ids, return_inverse=True)
    got = project_rows(table, distinct, where.reshape(ids.shape), WxT, b, gates)
    assert got.shape == dense.shape
    np.testing.assert_allclose(got, dense, rtol=1e-13, atol=1e-13)
    assert len(np.unique(ids)) < ids.size  # ids do repeat: the path has something to save


FORWARDS = {
    "lstm": (lambda x, h, W, **kw: lstm.lstm_forward(x, h, h, *W, **kw), lstm.lstm_backward, 4),
    "gru": (lambda x, h, W, **kw: gru.gru_forward(x, h, *W, **kw), gru.gru_backward, 3),
    "rnn": (lambda x, h, W, **kw: rnn.rnn_forward(x, h, *W, **kw), rnn.rnn_backward, 1),
}


@pytest.mark.parametrize("cell", sorted(FORWARDS))
@pytest.mark.parametrize("bias", [True, False])
def test_a_layer_fed_its_rows_gives_the_same_outputs_and_gradients(cell, bias):
    forward, backward, gates = FORWARDS[cell]
    table, ids, x = _embedded()
    T, B, D = x.shape
    H = 4
    W = (rng.standard_normal((gates * H, D)), rng.standard_normal((gates * H, H)),
         rng.standard_normal(gates * H) if bias else None, rng.standard_normal(gates * H) if bias else None)
    h0 = rng.standard_normal((B, H))
    lengths = np.array([7, 4, 6])
    dy = rng.standard_normal((T, B, H))
    results = []
    for rows in (None, (table, ids)):
        ys, cache = forward(x, h0, W, lengths=lengths, input_rows=rows)
        grads = backward((dy, None) + ((None,) if cell == "lstm" else ()), cache)
        results.append((ys[0], grads))
    (out0, g0), (out1, g1) = results
    np.testing.assert_allclose(out1, out0, rtol=1e-13, atol=1e-13)
    assert np.abs(out0).max() > 0.1
    assert isinstance(g1["x"], RowGrad) and not isinstance(g0["x"], RowGrad)
    d_table = _table_grad(g0["x"], ids, len(table))
    np.testing.assert_allclose(_table_grad(g1["x"], ids, len(table)), d_table, rtol=1e-12, atol=1e-12)
    assert (np.abs(d_table).max(axis=1) > 1e-3).sum() == len(np.unique(ids))  # every word's row is checked
    assert sorted(g1) == sorted(g0) and ("bias_ih" in g0) == bias
    for name in g0.keys() - {"x"}:
        np.testing.assert_allclose(g1[name], g0[name], rtol=1e-12, atol=1e-12, err_msg=name)


def test_a_residual_layer_fed_its_rows_keeps_the_dense_input_gradient():
    """Report A's residual LSTM adds x_t to h_t: ∂L/∂x has a part of its own per token, so
    its backward stays dense (a RowGrad would drop that part)."""
    table, ids, x = _embedded(D=4)
    W = (rng.standard_normal((16, 4)), rng.standard_normal((16, 4)), rng.standard_normal(16), rng.standard_normal(16))
    h0, dy = rng.standard_normal((3, 4)), rng.standard_normal((7, 3, 4))
    grads = [lstm.lstm_backward((dy, None, None), lstm.lstm_forward(x, h0, h0, *W, residual=True, input_rows=rows)[1])
             for rows in (None, (table, ids))]
    assert not isinstance(grads[1]["x"], RowGrad)
    np.testing.assert_allclose(grads[1]["x"], grads[0]["x"], rtol=1e-12, atol=1e-12)


def _zipf_ids(N, V, rng):
    """N ids drawn as text draws its words: a few very frequent, most seen once or twice."""
    p = 1.0 / np.arange(1, V + 1)
    return rng.choice(V, size=N, p=p / p.sum())


@pytest.mark.parametrize("few", [0, 3, 64, 10**6])  # all passes, both, the words' tail alone
def test_the_sums_per_word_are_the_sums_of_their_tokens(few):
    r = np.random.default_rng(5)  # its own draws: the counts asserted below hold whatever ran before
    ids = _zipf_ids(600, 200, r).reshape(30, 20)
    words = distinct_rows.distinct_rows(ids)
    assert (np.diff(words.counts) <= 0).all() and words.counts.sum() == ids.size
    np.testing.assert_array_equal(words.distinct[words.where], ids.reshape(-1))
    np.testing.assert_array_equal(ids.reshape(-1)[words.first], words.distinct)
    flat = ids.reshape(-1)
    assert all(np.flatnonzero(flat == v)[0] == i for v, i in zip(words.distinct, words.first))  # first occurrences
    for u, v in enumerate(words.distinct):  # each word's tokens, in order, from where they start
        np.testing.assert_array_equal(words.grouped[words.start[u]: words.start[u] + words.counts[u]],
                                      np.flatnonzero(flat == v))
    assert sorted(words.grouped) == list(range(flat.size))
    dZ = r.standard_normal((ids.size, 7))
    want = np.zeros((words.distinct.size, 7))
    np.add.at(want, words.where, dZ)
    assert words.counts[0] > 30 and (words.counts == 1).sum() > 20  # passes and a tail, both with work
    np.testing.assert_allclose(sum_by_word(dZ, words, few=few), want, rtol=1e-13, atol=1e-13)


@pytest.mark.parametrize("offset", [0, 2**16 - 200, 2**16, 2**40])  # 16-bit keys (radix sort) or not
def test_the_words_are_the_same_whichever_sort_groups_them(offset):
    r = np.random.default_rng(6)
    ids = _zipf_ids(600, 200, r).reshape(30, 20) + offset
    words = distinct_rows.distinct_rows(ids)
    flat = ids.reshape(-1)
    np.testing.assert_array_equal(words.grouped, np.argsort(flat, kind="stable"))
    np.testing.assert_array_equal(words.distinct[words.where], flat)
    u, c = np.unique(flat, return_counts=True)
    order = np.argsort(-c, kind="stable")
    np.testing.assert_array_equal(words.distinct, u[order])
    np.testing.assert_array_equal(words.counts, c[order])


def test_two_directions_row_grads_add_up():
    a = RowGrad(np.array([4, 1, 7]), rng.standard_normal((3, 2)))
    b = RowGrad(np.array([4, 1, 7]), rng.standard_normal((3, 2)))
    same = add_row_grads(a, b)
    np.testing.assert_array_equal(same.index, a.index)
    np.testing.assert_allclose(same.rows, a.rows + b.rows, rtol=1e-15)
    c = RowGrad(np.array([1, 9]), rng.standard_normal((2, 2)))  # overlapping, in another order
    mixed = add_row_grads(a, c)
    np.testing.assert_allclose(_table_grad(mixed, None, 10), _table_grad(a, None, 10) + _table_grad(c, None, 10),
                               rtol=1e-15)


@pytest.mark.parametrize("cls", [LSTM, GRU, RNN])
@pytest.mark.parametrize("batch_first", [False, True])
def test_the_stack_passes_the_rows_to_its_first_layer_in_both_directions(cls, batch_first, monkeypatch):
    calls = []
    real = distinct_rows.project_rows

    def counted(*args, **kwargs):
        calls.append(args[2].shape)
        return real(*args, **kwargs)

    monkeypatch.setattr(distinct_rows, "project_rows", counted)
    minidl.manual_seed(0)
    m = cls(5, 4, num_layers=2, bidirectional=True, batch_first=batch_first)
    table, ids, _ = _embedded()
    table = table.astype(np.float32)
    ids_in = ids.T.copy() if batch_first else ids
    x = table[ids_in]
    lengths = np.array([7, 3, 5])
    m.double()
    table = table.astype(np.float64)
    x = table[ids_in]
    d_out = rng.standard_normal((3, 7, 8) if batch_first else (7, 3, 8))
    results = []
    for rows in (None, (table, ids_in)):
        m.zero_grad()
        out, _ = m(x, lengths=lengths, input_rows=rows)
        dx = m.backward(d_out * (np.abs(out) > 0))[0]  # nothing from the padded steps' zeros
        results.append((out, _table_grad(dx, ids_in, len(table)), {k: p.grad.copy() for k, p in m.named_parameters()}))
    (dense, d_table, grads), (fed, d_table_fed, grads_fed) = results
    np.testing.assert_allclose(fed, dense, rtol=1e-12, atol=1e-12)
    assert calls == [(7, 3), (7, 3)]  # layer 0, both directions; layer 1's input is no table's rows
    assert np.abs(d_table).max() > 0.1
    np.testing.assert_allclose(d_table_fed, d_table, rtol=1e-11, atol=1e-11)
    for name, g in grads.items():
        np.testing.assert_allclose(grads_fed[name], g, rtol=1e-11, atol=1e-11, err_msg=name)


def test_the_imdb_model_projects_its_words_once(monkeypatch):
    calls = []
    real = distinct_rows.project_rows
    monkeypatch.setattr(distinct_rows, "project_rows", lambda *a, **k: calls.append(1) or real(*a, **k))
    minidl.manual_seed(0)
    model = ImdbClassifier(50, 8, 6)
    ids = rng.integers(1, 9, size=(4, 9))  # words repeat, as in text: at most 9 distinct of 36 tokens
    ids[1, 6:] = 0  # padding
    lengths = np.array([9, 6, 9, 9])
    logits = model(ids, lengths)
    model.eval()  # the same numbers without dropout, through the dense projection
    with minidl.no_grad():
        ref = model(ids, lengths)
        monkeypatch.setattr(distinct_rows, "project_rows", lambda *a, **k: pytest.fail("not this time"))
        x = model.embedding(ids.T)
        _, (h, _) = model.rnn(x, lengths=lengths)
    assert calls and logits.shape == (4, 2)
    np.testing.assert_allclose(model.fc2(model.fc1(h[-1]).clip(0)), ref, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("cell,bidirectional", [("lstm", False), ("lstm", True), ("gru", False), ("rnn", True)])
def test_the_imdb_model_trains_the_same_per_word(cell, bidirectional, monkeypatch):
    """Every parameter's gradient, the embedding's included, equals the dense path's (float64)."""
    r = np.random.default_rng(11)  # its own draws: the margin below holds whatever ran before
    ids = r.integers(1, 9, size=(4, 9))
    ids[1, 6:] = 0  # padding
    lengths = np.array([9, 6, 9, 9])
    dy = r.standard_normal((4, 2))
    grads = []
    for dense in (False, True):
        if dense:  # the checked pair is never handed on: the layers run the dense products
            monkeypatch.setattr(distinct_rows, "check_input_rows", lambda *a: None)
        minidl.manual_seed(0)
        model = ImdbClassifier(50, 8, 6, cell=cell, bidirectional=bidirectional, num_layers=2, dropout=0.0).double()
        model(ids, lengths)
        model.backward(dy)
        grads.append({k: p.grad.copy() for k, p in model.named_parameters()})
    assert np.abs(grads[1]["embedding.weight"]).max() > 1e-3
    for name, g in grads[1].items():
        np.testing.assert_allclose(grads[0][name], g, rtol=1e-10, atol=1e-14, err_msg=name)


def test_an_empty_batch_fed_its_rows_runs_as_without_them():
    table = rng.standard_normal((5, 3)).astype(np.float32)
    ids = np.zeros((4, 0), np.int64)
    m = LSTM(3, 2)
    out, (h, c) = m(table[ids], input_rows=(table, ids))
    assert out.shape == (4, 0, 2) and h.shape == (1, 0, 2)
    dx = m.backward(np.ones_like(out))[0]
    assert dx.shape == (4, 0, 3)


def test_a_pair_that_cannot_be_x_source_is_refused():
    table, ids, x = _embedded()
    with pytest.raises(DTypeError, match="pair"):
        check_input_rows(table, x, "f")
    with pytest.raises(ShapeError, match="table"):
        check_input_rows((table[:, :4], ids), x, "f")
    with pytest.raises(ShapeError, match="ids"):
        check_input_rows((table, ids[:3]), x, "f")
    with pytest.raises(DTypeError, match="integers"):
        check_input_rows((table, ids.astype(np.float64)), x, "f")
    with pytest.raises(DTypeError, match="dtype"):
        check_input_rows((table.astype(np.float32), ids), x, "f")
    for bad in (-1, 6):  # NumPy would wrap −1 to the last row without a word
        wrong = ids.copy()
        wrong[2, 1] = bad
        with pytest.raises(RangeError, match=r"\[0, 6\)"):
            check_input_rows((table, wrong), x, "f")
    with pytest.raises(ShapeError, match="x == table"):
        check_input_rows((table[::-1].copy(), ids), x, "f")
    assert check_input_rows(None, x, "f") is None
    got = check_input_rows((table, ids), x, "f")
    assert got[0] is table and got[1] is ids
    with pytest.raises(ShapeError, match="^LSTM: .*x == table"):
        LSTM(5, 4)(x.astype(np.float32), input_rows=(table[::-1].astype(np.float32), ids))


def test_ids_that_are_mostly_distinct_take_the_dense_product(monkeypatch):
    """More distinct ids than half the tokens: the gather would cost what the product saves."""
    T, B, D, n = 4, 3, 5, 8
    table = rng.standard_normal((20, D))
    WxT, b = rng.standard_normal((D, n)), rng.standard_normal(n)
    spread = rng.permutation(20)[:T * B].reshape(T, B)  # 12 tokens, 12 distinct ids
    repeated = spread % 6  # 12 tokens, 6 distinct ids: exactly half
    taken = []
    real = distinct_rows.project_rows
    monkeypatch.setattr(distinct_rows, "project_rows", lambda *a, **k: taken.append(a[1].size) or real(*a, **k))
    for ids in (spread, repeated):
        got, words = project_steps(table[ids], WxT, b, None, (table, ids), "f")
        np.testing.assert_allclose(got, seq.project_inputs(table[ids], WxT, b), rtol=1e-13, atol=1e-13)
        assert (words is None) == (ids is spread)  # the backward follows the forward's path
    assert taken == [6]


def test_off_the_host_the_dense_product_runs(monkeypatch):
    """On a device (the strict CuPy stand-in) nothing was measured: the dense GEMM runs, with
    no read back to the host for the ids' values."""
    from strict_device import StrictArray, count_transfers  # tests/ is on the path (conftest.py)

    table, ids, x = _embedded()
    WxT, b = rng.standard_normal((5, 12)), rng.standard_normal(12)
    monkeypatch.setattr(distinct_rows, "project_rows", lambda *a, **k: pytest.fail("the host's path on a device"))
    with count_transfers() as log:
        got, words = project_steps(StrictArray(x), StrictArray(WxT), StrictArray(b), 3, (StrictArray(table),
                                   StrictArray(ids)), "f")
    assert not log.d2h, log.summary()
    assert words is None
    np.testing.assert_allclose(backend.asnumpy(got), seq.project_gate_major(x, WxT, b, 3), rtol=1e-13, atol=1e-13)
