"""What the recurrent tests share: the layer kinds, float64 layers and cells of a kind."""

import numpy as np

from minidl import backend
from minidl.nn import recurrent, rnn_cells

KINDS = ["lstm", "res_lstm", "res_lstm_proj", "rnn_tanh", "rnn_relu", "gru", "gru_v1"]
PLAIN_KINDS = [k for k in KINDS if not k.startswith("res_")]


def make_layer(kind, D, H, num_layers=1, bidirectional=False, batch_first=False, dropout=0.0, bias=True):
    """A float64 layer of the given kind (built in float64, so nothing is rounded to float32)."""
    kw = dict(num_layers=num_layers, bidirectional=bidirectional, batch_first=batch_first, dropout=dropout, bias=bias)
    with backend.default_dtype(np.float64):
        if kind.startswith("rnn_"):
            return recurrent.RNN(D, H, nonlinearity=kind[4:], **kw)
        if kind == "lstm":
            return recurrent.LSTM(D, H, **kw)
        if kind.startswith("res_lstm"):
            return recurrent.LSTM(D, H, residual=True, **kw)
        if kind == "gru":
            return recurrent.GRU(D, H, **kw)
        if kind == "gru_v1":
            return recurrent.GRU(D, H, reset_after=False, **kw)
    raise ValueError(kind)


def make_cell(kind, D, H, bias=True):
    """A float64 cell of the given kind ("gru_v1" and "gru_orig": reset before)."""
    with backend.default_dtype(np.float64):
        if kind == "lstm":
            return rnn_cells.LSTMCell(D, H, bias=bias)
        if kind.startswith("rnn_"):
            return rnn_cells.RNNCell(D, H, bias=bias, nonlinearity=kind[4:])
        return rnn_cells.GRUCell(D, H, bias=bias, reset_after=kind == "gru")


def randomize(layer, kind, seed=0):
    """Draw every parameter from U(-0.5, 0.5), as ``gradcheck(randomize_params=True)`` does, but
    keep a ReLU RNN alive: with a handful of units and biases of either sign, every unit can
    be negative at every step, the output is all zeros and the check could not fail
    (gradcheck then reports the tensors as not exercised). Biases in U(0.25, 0.75) keep most
    units positive while the weights still switch some off."""
    rng = np.random.default_rng(seed)
    for name, p in layer.named_parameters():
        low, high = (0.25, 0.75) if kind == "rnn_relu" and "bias" in name else (-0.5, 0.5)
        p.data[...] = backend.to_device(rng.uniform(low, high, size=p.data.shape), backend.device_of(p.data))
    return layer


def n_states(kind):
    return 2 if "lstm" in kind else 1


def inputs_for(kind, T, B, D, H, LD, batch_first, rng, to_dev):
    x = rng.standard_normal((B, T, D) if batch_first else (T, B, D))
    states = tuple(to_dev(rng.standard_normal((LD, B, H))) for _ in range(n_states(kind)))
    hx = states if n_states(kind) == 2 else states[0]
    return to_dev(x), hx
