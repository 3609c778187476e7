"""Report C's three models as examples/names_rnn.py trains them, each with its loss:
char-RNN, LSTM(57, 64) + Linear + LogSoftmax, and the LSTM as a cell stepped in Python,
checked end to end by finite differences (float64); and ``--model mylstm`` equals
``--model lstm`` after a training step from the same seed."""

import numpy as np
import pytest
from helpers import WithLoss

import minidl
from minidl import backend, nn, optim
from minidl.gradcheck import gradcheck
from minidl.models import CharLSTM, CharRNN

# CharLSTM(step_by_step=True)'s keys -> the fused layer's (rnn.cell.weight_ih -> rnn.weight_ih_l0, ...)
CELL_KEYS = {f"rnn.{k}": f"rnn.{v}" for k, v in nn.CellLoopLSTM.LSTM_KEYS.items()}




def tiny(kind, seed=0, L=5, H=3, C=4):
    with backend.default_dtype(np.float64):
        minidl.manual_seed(seed)
        return CharRNN(L, H, C) if kind == "rnn" else CharLSTM(L, H, C, step_by_step=kind == "mylstm")


def padded(rng, lengths, L=5):
    ids = rng.integers(0, L, size=(len(lengths), max(lengths)))
    ids[np.arange(ids.shape[1])[None, :] >= np.array(lengths)[:, None]] = 0
    return ids, np.array(lengths)


@pytest.mark.parametrize("kind", ["rnn", "lstm", "mylstm"])
def test_whole_model_with_nll_gradcheck(kind, device, to_dev):
    m = WithLoss(tiny(kind), nn.NLLLoss()).to(device)
    rng = np.random.default_rng(4)
    ids, lengths = padded(rng, [4, 2, 3])
    r = gradcheck(m, to_dev(ids), to_dev(rng.integers(0, 4, 3)), forward_kwargs={"lengths": lengths},
                  randomize_params=True, check_inputs=[])
    assert r.ok, str(r)
    assert set(r.errors) == {n for n, _ in m.named_parameters()}


def test_mylstm_equals_lstm_after_a_training_step():
    """Same seed -> the same start weights; one SGD step on the same padded batch leaves the
    same weights (float64): the cell stepped in Python is the fused layer, trained."""
    rng = np.random.default_rng(2)
    ids, lengths = padded(rng, [5, 3, 1, 4])
    y = rng.integers(0, 4, 4)
    after = {}
    for kind in ("lstm", "mylstm"):
        model = tiny(kind, seed=11)
        start = {CELL_KEYS.get(k, k): v.copy() for k, v in model.state_dict().items()}
        opt = optim.SGD(model.parameters(), lr=0.5)
        loss = nn.NLLLoss()
        value = float(loss(model(ids, lengths=lengths), y))
        model.backward(loss.backward())
        opt.step()
        after[kind] = (start, value, {CELL_KEYS.get(k, k): v for k, v in model.state_dict().items()})
    (s0, v0, w0), (s1, v1, w1) = after["lstm"], after["mylstm"]
    assert sorted(s0) == sorted(s1)
    for k in s0:
        np.testing.assert_array_equal(s1[k], s0[k], err_msg=k)
    assert v1 == pytest.approx(v0, rel=1e-13)
    for k in w0:
        assert not np.array_equal(w0[k], s0[k]), k  # the step moved every parameter
        np.testing.assert_allclose(w1[k], w0[k], rtol=1e-12, atol=1e-14, err_msg=k)
