"""The input projection once per distinct id (minidl/functional/distinct_rows.py): the same
numbers as the dense projection, in the recurrent layers and the IMDB model, and clear
errors for a (table, ids) pair that cannot be x's source."""

import numpy as np
import pytest

import minidl
from minidl import backend
from minidl.errors import DTypeError, RangeError, ShapeError
from minidl.functional import distinct_rows, gru, lstm, rnn
from minidl.functional import sequence as seq
from minidl.functional.distinct_rows import check_input_rows, project_rows, project_steps
from minidl.models import ImdbClassifier
from minidl.nn import GRU, LSTM, RNN

rng = np.random.default_rng(0)


def _embedded(T=7, B=3, D=5, V=6):
    """A small vocabulary, so ids repeat within and across steps; x = table[ids] (float64)."""
    table = rng.standard_normal((V, D))
    ids = rng.integers(0, V, size=(T, B))
    return table, ids, table[ids]


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
def test_a_layer_fed_its_rows_gives_the_same_outputs_and_gradients(cell):
    forward, backward, gates = FORWARDS[cell]
    table, ids, x = _embedded()
    T, B, D = x.shape
    H = 4
    W = (rng.standard_normal((gates * H, D)), rng.standard_normal((gates * H, H)),
         rng.standard_normal(gates * H), rng.standard_normal(gates * H))
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
    for name in ("x", "weight_ih", "weight_hh", "bias_ih", "h0"):
        np.testing.assert_allclose(g1[name], g0[name], rtol=1e-12, atol=1e-12, err_msg=name)


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
    dense, _ = m(x, lengths=lengths)
    fed, _ = m(x, lengths=lengths, input_rows=(table, ids_in))
    np.testing.assert_allclose(fed, dense, rtol=1e-6, atol=1e-6)
    assert calls == [(7, 3), (7, 3)]  # layer 0, both directions; layer 1's input is no table's rows


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
        got = project_steps(table[ids], WxT, b, None, (table, ids), "f")
        np.testing.assert_allclose(got, seq.project_inputs(table[ids], WxT, b), rtol=1e-13, atol=1e-13)
    assert taken == [6]


def test_off_the_host_the_dense_product_runs(monkeypatch):
    """On a device (the strict CuPy stand-in) nothing was measured: the dense GEMM runs, with
    no read back to the host for the ids' values."""
    from strict_device import StrictArray, count_transfers  # tests/ is on the path (conftest.py)

    table, ids, x = _embedded()
    WxT, b = rng.standard_normal((5, 12)), rng.standard_normal(12)
    monkeypatch.setattr(distinct_rows, "project_rows", lambda *a, **k: pytest.fail("the host's path on a device"))
    with count_transfers() as log:
        got = project_steps(StrictArray(x), StrictArray(WxT), StrictArray(b), 3, (StrictArray(table),
                            StrictArray(ids)), "f")
    assert not log.d2h, log.summary()
    np.testing.assert_allclose(backend.asnumpy(got), seq.project_gate_major(x, WxT, b, 3), rtol=1e-13, atol=1e-13)
