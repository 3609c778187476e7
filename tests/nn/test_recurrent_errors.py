"""The recurrent layers' edge cases: the ones PyTorch accepts (batch 0, with and without
lengths) behave as PyTorch's do, and float32 cells stay float32; and the bad-input rows of
RNN, LSTM, GRU, their cells and their functional pairs (``BAD_INPUTS``, tests/bad_inputs.py)."""

import warnings

import numpy as np
import pytest
from bad_inputs import Case, bad_input_test, states_backward_after, zeros

from minidl.errors import DTypeError, RangeError, ShapeError
from minidl.functional import gru, lstm, rnn
from minidl.nn import GRU, LSTM, RNN, GRUCell, LSTMCell, RNNCell

F32 = np.float32


def layer_backward(layer, x, *d_states, **fwd):
    """Run the forward, then the backward with the given state gradients."""
    out, _ = layer(x, **fwd)
    return layer.backward(np.zeros_like(out), *d_states)


def test_too_many_state_gradients_is_a_call_error():
    """A backward called with more state gradients than the layer has states: Python's own
    TypeError for a call with the wrong arguments. (Bad input values: ``BAD_INPUTS`` below.)"""
    with pytest.raises(TypeError, match=r"LSTM.backward takes d_output and 2 state gradient"):
        layer_backward(LSTM(2, 3), zeros(4, 2, 2), None, None, None)


@pytest.mark.parametrize("lengths", [None, []], ids=["no-lengths", "empty-lengths"])
@pytest.mark.parametrize("cls", [LSTM, GRU, RNN])
def test_batch_zero_gives_empty_outputs_and_gradients(cls, lengths):
    """PyTorch runs a batch of 0 sequences: empty outputs and states, zero parameter gradients."""
    layer = cls(2, 3, num_layers=2, bidirectional=True)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        out, states = layer(zeros(4, 0, 2), lengths=lengths)
        grads = layer.backward(np.zeros_like(out))
    assert out.shape == (4, 0, 6)
    for s in states if isinstance(states, tuple) else (states,):
        assert s.shape == (4, 0, 3)
    assert grads[0].shape == (4, 0, 2) and all(g.shape == (4, 0, 3) for g in grads[1:])
    for p in layer.parameters():
        assert p.grad.shape == p.shape and not p.grad.any()


@pytest.mark.parametrize("make", [lambda: LSTMCell(2, 3), lambda: GRUCell(2, 3),
                                  lambda: GRUCell(2, 3, reset_after=False), lambda: RNNCell(2, 3)],
                         ids=["lstm", "gru", "gru_v1", "rnn"])
def test_cell_batch_zero(make):
    cell = make()
    y = cell(zeros(0, 2))
    ys = y if isinstance(y, tuple) else (y,)
    assert all(v.shape == (0, 3) and v.dtype == F32 for v in ys)
    grads = cell.backward(*ys)
    assert grads[0].shape == (0, 2) and all(g.shape == (0, 3) for g in grads[1:])


def test_float32_cell_state_stays_float32():
    """A float32 cell stepped many times keeps float32 states (no drift to float64)."""
    cell = LSTMCell(2, 3)
    h = c = zeros(2, 3)
    for _ in range(3):
        h, c = cell(zeros(2, 2), (h, c))
    assert h.dtype == c.dtype == F32


# ---------------------------------------------- bad input and fuzzing (tests/bad_inputs.py, tests/fuzzing.py)
BAD_INPUTS = [
    Case("nn.LSTM", "lstm-T0",
         lambda: LSTM(2, 3)(zeros(0, 2, 2)),
         ShapeError, r"LSTM: input must have at least one time step"),
    Case("nn.GRU", "gru-T0-batch-first",
         lambda: GRU(2, 3, batch_first=True)(zeros(2, 0, 2)),
         ShapeError, r"GRU: input .*\(T ≥ 1\)"),
    Case("nn.RNN", "rnn-T0", lambda: RNN(2, 3)(zeros(0, 4, 2)), ShapeError, r"RNN: input .*got shape \(0, 4, 2\)"),
    Case("functional.lstm.lstm_forward", "lstm_forward-T0",
         lambda: lstm.lstm_forward(zeros(0, 2, 2), zeros(2, 3), zeros(2, 3), zeros(12, 2),
             zeros(12, 3)),
         ShapeError, r"lstm_forward: x must have at least"),
    Case("nn.LSTM", "lstm-d_h_n-3-layers",
         states_backward_after(LSTM(2, 3), zeros(4, 2, 2), zeros(3, 2, 3)),
         ShapeError, r"LSTM.backward: d_h_n must have the output's shape \(1, 2, 3\), got \(3, 2, 3\)"),
    Case("nn.LSTM", "lstm-d_c_n",
         states_backward_after(LSTM(2, 3), zeros(4, 2, 2), None, zeros(1, 3, 3)),
         ShapeError, r"d_c_n must have the output's shape \(1, 2, 3\)"),
    Case("nn.GRU", "gru-d_h_n",
         states_backward_after(GRU(2, 3, bidirectional=True), zeros(4, 2, 2), zeros(1, 2, 3)),
         ShapeError, r"GRU.backward: d_h_n .*\(2, 2, 3\)"),
    Case("functional.lstm.lstm_backward", "lstm_backward-d_h_n",
         lambda: lstm.lstm_backward(
             (None, zeros(3, 2, 3), None),
             lstm.lstm_forward(zeros(4, 2, 2), zeros(2, 3), zeros(2, 3), zeros(12, 2), zeros(12, 3))[1]),
         ShapeError, r"lstm_backward: d_h_n must have its output's shape \(2, 3\), got \(3, 2, 3\)"),
    Case("nn.LSTMCell", "lstmcell-f64-h",
         lambda: LSTMCell(2, 3)(zeros(2, 2), (zeros(2, 3, dtype=np.float64), zeros(2, 3))),
         DTypeError, r"LSTMCell: h must have dtype float32 \(the parameters'\), got float64"),
    Case("nn.LSTMCell", "lstmcell-f64-c",
         lambda: LSTMCell(2, 3)(zeros(2, 2), (zeros(2, 3), zeros(2, 3, dtype=np.float64))),
         DTypeError, r"LSTMCell: c must have dtype float32"),
    Case("nn.GRUCell", "grucell-f64-h",
         lambda: GRUCell(2, 3)(zeros(2, 2), zeros(2, 3, dtype=np.float64)),
         DTypeError, r"GRUCell: h must have dtype float32"),
    Case("nn.RNNCell", "rnncell-f64-x",
         lambda: RNNCell(2, 3)(zeros(2, 2, dtype=np.float64)),
         DTypeError, r"RNNCell: input must have dtype float32"),
    Case("nn.GRUCell", "grucell-h-shape",
         lambda: GRUCell(2, 3)(zeros(2, 2), zeros(3, 3)),
         ShapeError, r"GRUCell: h must have shape \(2, 3\), got \(3, 3\)"),
    Case("nn.LSTMCell", "lstmcell-hx-not-pair",
         lambda: LSTMCell(2, 3)(zeros(2, 2), zeros(2, 3)),
         DTypeError, r"hx must be a tuple"),
    Case("nn.GRUCell", "grucell-dh-shape",
         lambda: (lambda c: (c(zeros(2, 2)), c.backward(zeros(1, 3))))(GRUCell(2, 3)),
         ShapeError, r"GRUCell.backward: dh' must have the output's shape \(2, 3\), got \(1, 3\)"),
    Case("nn.LSTM", "lstm-list-input", lambda: LSTM(2, 3)([[[0.0, 0.0]]]), DTypeError, r"LSTM: input must be an array"),
    Case("nn.LSTM", "lstm-lengths-fraction",
         lambda: LSTM(2, 3)(zeros(4, 2, 2), lengths=[1.5, 2]),
         DTypeError, r"LSTM: lengths must be integers"),
    Case("nn.LSTM", "lstm-lengths-zero",
         lambda: LSTM(2, 3)(zeros(4, 2, 2), lengths=[0, 2]),
         RangeError, r"LSTM: lengths must lie in \[1, T\] = \[1, 4\]"),
    Case("nn.LSTM", "lstm-lengths-shape",
         lambda: LSTM(2, 3)(zeros(4, 2, 2), lengths=[1, 2, 3]),
         ShapeError, r"LSTM: lengths must have shape \(B,\) = \(2,\)"),
    Case("nn.GRU", "gru-h0-dtype",
         lambda: GRU(2, 3)(zeros(4, 2, 2), zeros(1, 2, 3, dtype=np.float64)),
         DTypeError, r"GRU: h0 must have dtype float32"),
    Case("nn.RNN", "rnn-nonlinearity", lambda: RNN(2, 3, nonlinearity="sigmoid"), RangeError, r"nonlinearity must be"),
    Case("functional.lstm.lstm_forward", "lstm_forward-weight_res-without-residual",
         lambda: lstm.lstm_forward(
             zeros(4, 2, 2), zeros(2, 3), zeros(2, 3), zeros(12, 2), zeros(12, 3), weight_res=zeros(3, 2)),
         RangeError, r"weight_res is given but residual=False"),
    Case("functional.lstm.lstm_forward", "lstm_forward-residual-needs-projection",
         lambda: lstm.lstm_forward(
             zeros(4, 2, 2), zeros(2, 3), zeros(2, 3), zeros(12, 2), zeros(12, 3), residual=True),
         ShapeError, r"needs D = H"),
    Case("functional.gru.gru_forward", "gru_forward-weight-shape",
         lambda: gru.gru_forward(zeros(4, 2, 2), zeros(2, 3), zeros(9, 3), zeros(9, 3)),
         ShapeError, r"gru_forward: weight_ih must have shape \(9, 2\), got \(9, 3\)"),
    Case("functional.rnn.rnn_forward", "rnn_forward-one-bias",
         lambda: rnn.rnn_forward(zeros(4, 2, 2), zeros(2, 3), zeros(3, 2), zeros(3, 3),
             zeros(3)),
         RangeError, r"bias_ih and bias_hh must both"),
    Case("nn.RNN", "rnn-d_output-shape",
         lambda: (lambda m: (m(zeros(4, 2, 2)), m.backward(zeros(4, 2, 4))))(RNN(2, 3)),
         ShapeError, r"RNN.backward: d_output must have the output's shape \(4, 2, 3\), got \(4, 2, 4\)"),
    Case("nn.LSTM", "lstm-d_output-int",
         lambda: (lambda m: (m(zeros(4, 2, 2)), m.backward(np.zeros((4, 2, 3), np.int64))))(
             LSTM(2, 3)),
         DTypeError, r"d_output must be a floating array"),
]
test_bad_input = bad_input_test(BAD_INPUTS)
