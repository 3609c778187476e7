"""The recurrent layers' edge cases: the ones PyTorch accepts (batch 0, with and without
lengths) behave as PyTorch's do, and float32 cells stay float32. (Their bad-input rows are
in tests/test_errors.py, section "recurrent".)"""

import warnings

import numpy as np
import pytest

from minidl.nn import GRU, LSTM, RNN, GRUCell, LSTMCell, RNNCell

F32 = np.float32


def zeros(*shape, dtype=F32):
    return np.zeros(shape, dtype)


def layer_backward(layer, x, *d_states, **fwd):
    """Run the forward, then the backward with the given state gradients."""
    out, _ = layer(x, **fwd)
    return layer.backward(np.zeros_like(out), *d_states)


def test_too_many_state_gradients_is_a_call_error():
    """A backward called with more state gradients than the layer has states: Python's own
    TypeError for a call with the wrong arguments. (Bad input values: tests/test_errors.py.)"""
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
