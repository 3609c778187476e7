"""Every bad input, one row each: the call, the minidl.errors class it must raise, and a
regex the message must match (it names the call and the argument, and says what was
expected and what was given).

One section per area (layers, recurrent, conv, losses, optimizers, loaders, checkpoints,
training); add a layer's rows to its area's list. A row is
``Case(who, what, call, error, match)``: ``who`` the public name it covers ("nn.Linear",
"optim.Adam", "minidl.load", ...), ``what`` a few words for the test id, ``call`` a
function that must raise: of no argument, or of one, ``tmp``, a fresh directory (with
``MINIDL_DATA`` unset and ``MINIDL_CACHE`` inside it) for rows that write files. The
table's own tests are at the end.
"""

from __future__ import annotations

import inspect
import io
import tarfile
import zipfile
from dataclasses import dataclass
from typing import Callable

import numpy as np
import pytest
from data_samples import imdb_members, make_imdb_folder, make_tar, random_reviews, write_cifar_release

import minidl
from minidl import nn, optim, train
from minidl.checks import check_state_value
from minidl.data import BatchLoader, Vocabulary, cifar10, download, encode, names, pad_sequences, safe_extract
from minidl.data.imdb import load_imdb
from minidl.errors import (
    CheckpointError,
    DataError,
    DTypeError,
    IndexRangeError,
    MinidlError,
    RangeError,
    ShapeError,
    TrainingDiverged,
)
from minidl.functional import gru, lstm, rnn
from minidl.models.imdb import ImdbClassifier
from minidl.models.resnet import ResNet
from minidl.nn import GRU, LSTM, RNN, GRUCell, LSTMCell, RNNCell


@dataclass(frozen=True)
class Case:
    who: str
    what: str
    call: Callable[[], object]
    error: type
    match: str

    @property
    def id(self) -> str:
        return f"{self.who}: {self.what}"


def f64(*shape):
    return np.ones(shape)


def f32(*shape):
    return np.ones(shape, np.float32)


def backward_after(layer, x, dy):
    """Call ``layer.backward(dy)`` after a forward of ``x`` (the upstream-gradient rows)."""

    def call():
        layer(x)
        return layer.backward(dy)

    return call


def _sgd_with_state(**kw):
    p = minidl.Parameter(np.zeros(3))
    opt = optim.SGD([p], lr=0.1, momentum=0.9)
    p.grad[:] = 1.0
    opt.step()
    sd = opt.state_dict()
    sd.update(kw)
    return sd


def _adam_state():
    p = minidl.Parameter(np.zeros(3))
    opt = optim.Adam([p], lr=0.1)
    p.grad[:] = 1.0
    opt.step()
    return opt.state_dict()


def _without(d, key):
    return {k: v for k, v in d.items() if k != key}


def _sgd_loads(sd):
    return lambda: optim.SGD([minidl.Parameter(np.zeros(3))], lr=0.5, momentum=0.9).load_state_dict(sd)


# ===================================================================== layers
ELEMENTWISE = [("ReLU", nn.ReLU), ("Tanh", nn.Tanh), ("Sigmoid", nn.Sigmoid), ("Softmax", nn.Softmax),
               ("LogSoftmax", nn.LogSoftmax), ("Dropout", nn.Dropout), ("Flatten", nn.Flatten)]

LAYERS = [
    Case("nn.Linear", "input of the wrong width", lambda: nn.Linear(3, 2)(f32(2, 4)), ShapeError,
         r"Linear: input must have shape \(\.\.\., 3\), got \(2, 4\)"),
    *[Case(f"nn.{name}", "a list instead of an array", lambda cls=cls: cls()([[1.0, 2.0]]), DTypeError,
           rf"{name}: input must be an array .*got list") for name, cls in ELEMENTWISE],
    *[Case(f"nn.{name}", "an upstream gradient of the wrong shape",
           backward_after(cls(), f64(2, 3), f64(3, 2)), ShapeError,
           rf"{name}\.backward: dy must have the output's shape \(2, 3\), got \(3, 2\)")
      for name, cls in ELEMENTWISE if name != "Flatten"],
    *[Case(f"nn.{name}", "an integer upstream gradient", backward_after(cls(), f64(2, 3), np.ones((2, 3), int)),
           DTypeError, rf"{name}\.backward: dy must be a floating array, got dtype int64")
      for name, cls in ELEMENTWISE],
    Case("nn.ReLU", "a boolean input (PyTorch refuses it too)", lambda: nn.ReLU()(np.ones(3, bool)), DTypeError,
         r"ReLU: input must be a floating, integer, unsigned array, got dtype bool"),
    Case("nn.Tanh", "a complex input", lambda: nn.Tanh()(np.ones(3, complex)), DTypeError,
         r"Tanh: input must be .*got dtype complex128"),
    Case("nn.Sigmoid", "a string array", lambda: nn.Sigmoid()(np.array(["a"])), DTypeError,
         r"Sigmoid: input must be .*got dtype <U1"),
    Case("nn.Softmax", "an integer input (PyTorch refuses it too)", lambda: nn.Softmax(-1)(np.ones((2, 3), int)),
         DTypeError, r"Softmax: input must be a floating array, got dtype int64"),
    Case("nn.Softmax", "dim outside the input's dims", lambda: nn.Softmax(dim=2)(f64(2, 3)), ShapeError,
         r"Softmax: dim must lie in \[-2, 2\) for an input with 2 dims, got 2"),
    Case("nn.LogSoftmax", "dim not an integer", lambda: nn.LogSoftmax(dim="1")(f64(2, 3)), DTypeError,
         r"LogSoftmax: dim must be an integer, got str"),
    Case("nn.Dropout", "p above 1", lambda: nn.Dropout(1.5), RangeError,
         r"Dropout: p \(the dropout probability\) must be a finite number in \[0.0, 1.0\], got 1.5"),
    Case("nn.Dropout", "p NaN", lambda: nn.Dropout(float("nan")), RangeError, r"Dropout: p .*got nan"),
    Case("nn.Dropout", "p a string", lambda: nn.Dropout("0.5"), DTypeError, r"Dropout: p .*must be a real number"),
    Case("nn.Dropout", "an integer input in training (PyTorch refuses it too)",
         lambda: nn.Dropout(0.5)(np.ones((2, 3), int)), DTypeError,
         r"Dropout: input must be a floating array in training mode, got dtype int64"),
    Case("nn.Embedding", "a list of ids", lambda: nn.Embedding(10, 4)([1, 2]), DTypeError,
         r"Embedding: ids must be an array .*got list"),
    Case("nn.Embedding", "floating ids", lambda: nn.Embedding(10, 4)(np.array([1.0])), DTypeError,
         r"Embedding: ids must be an integer array \(token ids\), got dtype float64"),
    Case("nn.Embedding", "a negative id", lambda: nn.Embedding(10, 4)(np.array([[1, -1, 2]])), IndexRangeError,
         r"Embedding: ids must lie in \[0, 10\) .*got token id -1"),
    Case("nn.Embedding", "an id past the vocabulary", lambda: nn.Embedding(10, 4)(np.array([10])), IndexRangeError,
         r"Embedding: ids must lie in \[0, 10\) .*got token id 10"),
    Case("nn.Embedding", "an upstream gradient of the wrong shape",
         backward_after(nn.Embedding(10, 4), np.array([[1, 2, 3]]), f32(1, 3, 5)), ShapeError,
         r"Embedding\.backward: dy must have the output's shape \(1, 3, 4\), got \(1, 3, 5\)"),
    Case("nn.Embedding", "an empty table", lambda: nn.Embedding(0, 4), RangeError,
         r"Embedding: num_embeddings must be a finite number in \[1, inf\), got 0"),
    Case("nn.Embedding", "padding_idx outside the table", lambda: nn.Embedding(5, 4, padding_idx=5), RangeError,
         r"Embedding: padding_idx must be a finite number in \[-5, 4\], got 5"),
    Case("nn.Flatten", "start_dim outside the input's dims", lambda: nn.Flatten(start_dim=3)(f64(2, 3)), ShapeError,
         r"Flatten: start_dim must lie in \[-2, 2\) for an input with 2 dims, got 3"),
    Case("nn.Flatten", "start_dim after end_dim", lambda: nn.Flatten(2, 1)(f64(2, 3, 4)), ShapeError,
         r"Flatten: start_dim must not come after end_dim, got start_dim=2, end_dim=1"),
    Case("nn.Flatten", "an upstream gradient of the wrong shape",
         backward_after(nn.Flatten(), f64(2, 3, 2), f64(2, 3, 2)), ShapeError,
         r"Flatten\.backward: dy must have the output's shape \(2, 6\), got \(2, 3, 2\)"),
    Case("nn.Sequential", "a layer that is not a Module", lambda: nn.Sequential(nn.ReLU(), 3), DTypeError,
         r"Sequential: layers must be Modules, got int at position 1"),
]

# ===================================================================== recurrent
def _zeros(*shape, dtype=np.float32):
    return np.zeros(shape, dtype)


def _rnn_backward(layer, x, *d_states, **fwd):
    """Run the forward, then the backward with the given state gradients."""
    out, _ = layer(x, **fwd)
    return layer.backward(np.zeros_like(out), *d_states)


RECURRENT = [
    Case("nn.ResidualStackLSTM", "a list as input", lambda: nn.ResidualStackLSTM(2, 3)([[[0.0, 0.0]]]), DTypeError,
         r"ResidualStackLSTM: input must be an array .*got list"),
    Case("nn.ResidualStackLSTM", "no time step", lambda: nn.ResidualStackLSTM(2, 3)(_zeros(0, 2, 2)), ShapeError,
         r"ResidualStackLSTM: input must have shape \(T, B, D\) with T ≥ 1 and D = 2, got \(0, 2, 2\)"),
    Case("nn.ResidualStackLSTM", "float64 input on float32 parameters",
         lambda: nn.ResidualStackLSTM(2, 3)(_zeros(3, 2, 2, dtype=np.float64)), DTypeError,
         r"ResidualStackLSTM: input must have dtype float32"),
    Case("nn.ResidualStackLSTM", "an initial state (every layer starts from zeros)",
         lambda: nn.ResidualStackLSTM(2, 3)(_zeros(3, 2, 2), hx=_zeros(2, 2, 3)), ShapeError,
         r"ResidualStackLSTM: hx must be None"),
    Case("nn.ResidualStackLSTM", "lengths with a 0",
         lambda: nn.ResidualStackLSTM(2, 3)(_zeros(3, 2, 2), lengths=[0, 2]), RangeError,
         r"ResidualStackLSTM: lengths must lie in \[1, T\] = \[1, 3\]"),
    Case("nn.ResidualStackLSTM", "bidirectional", lambda: nn.ResidualStackLSTM(2, 3, bidirectional=True), RangeError,
         r"ResidualStackLSTM: bidirectional=True is not offered"),
    Case("nn.ResidualStackLSTM", "no layers", lambda: nn.ResidualStackLSTM(2, 3, num_layers=0), RangeError,
         r"ResidualStackLSTM: num_layers must be a positive int, got 0"),
    Case("nn.ResidualStackLSTM", "a d_h_n of the wrong shape",
         lambda: _rnn_backward(nn.ResidualStackLSTM(2, 3, num_layers=2), _zeros(3, 2, 2), _zeros(1, 2, 3)),
         ShapeError, r"ResidualStackLSTM\.backward: d_h_n must have the output's shape \(2, 2, 3\), got \(1, 2, 3\)"),
    Case("nn.ResidualStackLSTM", "a d_out of the wrong shape",
         backward_after(nn.ResidualStackLSTM(2, 3), _zeros(3, 2, 2), _zeros(3, 2, 4)), ShapeError,
         r"ResidualStackLSTM\.backward: d_out must have the output's shape \(3, 2, 3\), got \(3, 2, 4\)"),
    Case("nn.PeepholeLSTMCell", "a list as input", lambda: nn.PeepholeLSTMCell(2, 3)([[0.0, 0.0]]), DTypeError,
         r"PeepholeLSTMCell: input must be an array .*got list"),
    Case("nn.PeepholeLSTMCell", "input of the wrong width", lambda: nn.PeepholeLSTMCell(2, 3)(_zeros(2, 4)),
         ShapeError, r"PeepholeLSTMCell: input must have shape \(\*, 2\), got \(2, 4\)"),
    Case("nn.PeepholeLSTMCell", "a float64 h on float32 parameters",
         lambda: nn.PeepholeLSTMCell(2, 3)(_zeros(2, 2), (_zeros(2, 3, dtype=np.float64), _zeros(2, 3))), DTypeError,
         r"PeepholeLSTMCell: h must have dtype float32"),
    Case("nn.PeepholeLSTMCell", "hx not a pair", lambda: nn.PeepholeLSTMCell(2, 3)(_zeros(2, 2), _zeros(2, 3)),
         DTypeError, r"PeepholeLSTMCell: hx must be a tuple \(h, c\)"),
    Case("nn.PeepholeLSTMCell", "a c of the wrong shape",
         lambda: nn.PeepholeLSTMCell(2, 3)(_zeros(2, 2), (_zeros(2, 3), _zeros(1, 3))), ShapeError,
         r"PeepholeLSTMCell: c must have shape \(2, 3\), got \(1, 3\)"),
    Case("nn.PeepholeLSTMCell", "a dh' of the wrong shape",
         backward_after(nn.PeepholeLSTMCell(2, 3), _zeros(2, 2), _zeros(2, 4)), ShapeError,
         r"PeepholeLSTMCell\.backward: dh' must have the output's shape \(2, 3\), got \(2, 4\)"),
    Case("nn.PeepholeLSTMCell", "a zero hidden size", lambda: nn.PeepholeLSTMCell(2, 0), RangeError,
         r"PeepholeLSTMCell: hidden_size must be a positive int, got 0"),
    Case("nn.CellLoopLSTM", "a list as input", lambda: nn.CellLoopLSTM(2, 3)([[[0.0, 0.0]]]), DTypeError,
         r"CellLoopLSTM: input must be an array .*got list"),
    Case("nn.CellLoopLSTM", "no time step (as LSTM and PyTorch)", lambda: nn.CellLoopLSTM(2, 3)(_zeros(0, 2, 2)),
         ShapeError, r"CellLoopLSTM: input must have shape \(T, B, D\) with T ≥ 1 and D = 2, got \(0, 2, 2\)"),
    Case("nn.CellLoopLSTM", "input of the wrong width", lambda: nn.CellLoopLSTM(2, 3)(_zeros(3, 2, 4)), ShapeError,
         r"CellLoopLSTM: input must have shape \(T, B, D\) .*got \(3, 2, 4\)"),
    Case("nn.CellLoopLSTM", "lengths with a 0", lambda: nn.CellLoopLSTM(2, 3)(_zeros(3, 2, 2), lengths=[0, 2]),
         RangeError, r"CellLoopLSTM: lengths must lie in \[1, T\] = \[1, 3\]"),
    Case("nn.CellLoopLSTM", "a d_output of the wrong shape",
         backward_after(nn.CellLoopLSTM(2, 3), _zeros(3, 2, 2), _zeros(3, 2, 4)), ShapeError,
         r"CellLoopLSTM\.backward: d_output must have the output's shape \(3, 2, 3\), got \(3, 2, 4\)"),
    Case("nn.CellLoopLSTM", "a d_h_n of the wrong shape",
         lambda: _rnn_backward(nn.CellLoopLSTM(2, 3), _zeros(3, 2, 2), _zeros(3, 2, 3)), ShapeError,
         r"CellLoopLSTM\.backward: d_h_n must have the output's shape \(1, 2, 3\), got \(3, 2, 3\)"),
    Case("nn.LSTM", "lstm-T0",
         lambda: LSTM(2, 3)(_zeros(0, 2, 2)),
         ShapeError, r"LSTM: input must have at least one time step"),
    Case("nn.GRU", "gru-T0-batch-first",
         lambda: GRU(2, 3, batch_first=True)(_zeros(2, 0, 2)),
         ShapeError, r"GRU: input .*\(T ≥ 1\)"),
    Case("nn.RNN", "rnn-T0", lambda: RNN(2, 3)(_zeros(0, 4, 2)), ShapeError, r"RNN: input .*got shape \(0, 4, 2\)"),
    Case("functional.lstm.lstm_forward", "lstm_forward-T0",
         lambda: lstm.lstm_forward(_zeros(0, 2, 2), _zeros(2, 3), _zeros(2, 3), _zeros(12, 2),
             _zeros(12, 3)),
         ShapeError, r"lstm_forward: x must have at least"),
    Case("nn.LSTM", "lstm-d_h_n-3-layers",
         lambda: _rnn_backward(LSTM(2, 3), _zeros(4, 2, 2), _zeros(3, 2, 3)),
         ShapeError, r"LSTM.backward: d_h_n must have the output's shape \(1, 2, 3\), got \(3, 2, 3\)"),
    Case("nn.LSTM", "lstm-d_c_n",
         lambda: _rnn_backward(LSTM(2, 3), _zeros(4, 2, 2), None, _zeros(1, 3, 3)),
         ShapeError, r"d_c_n must have the output's shape \(1, 2, 3\)"),
    Case("nn.GRU", "gru-d_h_n",
         lambda: _rnn_backward(GRU(2, 3, bidirectional=True), _zeros(4, 2, 2), _zeros(1, 2, 3)),
         ShapeError, r"GRU.backward: d_h_n .*\(2, 2, 3\)"),
    Case("functional.lstm.lstm_backward", "lstm_backward-d_h_n",
         lambda: lstm.lstm_backward(
             (None, _zeros(3, 2, 3), None),
             lstm.lstm_forward(_zeros(4, 2, 2), _zeros(2, 3), _zeros(2, 3), _zeros(12, 2), _zeros(12, 3))[1]),
         ShapeError, r"lstm_backward: d_h_n must have its output's shape \(2, 3\), got \(3, 2, 3\)"),
    Case("nn.LSTMCell", "lstmcell-f64-h",
         lambda: LSTMCell(2, 3)(_zeros(2, 2), (_zeros(2, 3, dtype=np.float64), _zeros(2, 3))),
         DTypeError, r"LSTMCell: h must have dtype float32 \(the parameters'\), got float64"),
    Case("nn.LSTMCell", "lstmcell-f64-c",
         lambda: LSTMCell(2, 3)(_zeros(2, 2), (_zeros(2, 3), _zeros(2, 3, dtype=np.float64))),
         DTypeError, r"LSTMCell: c must have dtype float32"),
    Case("nn.GRUCell", "grucell-f64-h",
         lambda: GRUCell(2, 3)(_zeros(2, 2), _zeros(2, 3, dtype=np.float64)),
         DTypeError, r"GRUCell: h must have dtype float32"),
    Case("nn.RNNCell", "rnncell-f64-x",
         lambda: RNNCell(2, 3)(_zeros(2, 2, dtype=np.float64)),
         DTypeError, r"RNNCell: input must have dtype float32"),
    Case("nn.GRUCell", "grucell-h-shape",
         lambda: GRUCell(2, 3)(_zeros(2, 2), _zeros(3, 3)),
         ShapeError, r"GRUCell: h must have shape \(2, 3\), got \(3, 3\)"),
    Case("nn.LSTMCell", "lstmcell-hx-not-pair",
         lambda: LSTMCell(2, 3)(_zeros(2, 2), _zeros(2, 3)),
         DTypeError, r"hx must be a tuple"),
    Case("nn.GRUCell", "grucell-dh-shape",
         lambda: (lambda c: (c(_zeros(2, 2)), c.backward(_zeros(1, 3))))(GRUCell(2, 3)),
         ShapeError, r"GRUCell.backward: dh' must have the output's shape \(2, 3\), got \(1, 3\)"),
    Case("nn.LSTM", "lstm-list-input", lambda: LSTM(2, 3)([[[0.0, 0.0]]]), DTypeError, r"LSTM: input must be an array"),
    Case("nn.LSTM", "lstm-lengths-fraction",
         lambda: LSTM(2, 3)(_zeros(4, 2, 2), lengths=[1.5, 2]),
         DTypeError, r"LSTM: lengths must be integers"),
    Case("nn.LSTM", "lstm-lengths-zero",
         lambda: LSTM(2, 3)(_zeros(4, 2, 2), lengths=[0, 2]),
         RangeError, r"LSTM: lengths must lie in \[1, T\] = \[1, 4\]"),
    Case("nn.LSTM", "lstm-lengths-shape",
         lambda: LSTM(2, 3)(_zeros(4, 2, 2), lengths=[1, 2, 3]),
         ShapeError, r"LSTM: lengths must have shape \(B,\) = \(2,\)"),
    Case("nn.GRU", "gru-h0-dtype",
         lambda: GRU(2, 3)(_zeros(4, 2, 2), _zeros(1, 2, 3, dtype=np.float64)),
         DTypeError, r"GRU: h0 must have dtype float32"),
    Case("nn.RNN", "rnn-nonlinearity", lambda: RNN(2, 3, nonlinearity="sigmoid"), RangeError, r"nonlinearity must be"),
    Case("functional.lstm.lstm_forward", "lstm_forward-weight_res-without-residual",
         lambda: lstm.lstm_forward(
             _zeros(4, 2, 2), _zeros(2, 3), _zeros(2, 3), _zeros(12, 2), _zeros(12, 3), weight_res=_zeros(3, 2)),
         RangeError, r"weight_res is given but residual=False"),
    Case("functional.lstm.lstm_forward", "lstm_forward-residual-needs-projection",
         lambda: lstm.lstm_forward(
             _zeros(4, 2, 2), _zeros(2, 3), _zeros(2, 3), _zeros(12, 2), _zeros(12, 3), residual=True),
         ShapeError, r"needs D = H"),
    Case("functional.gru.gru_forward", "gru_forward-weight-shape",
         lambda: gru.gru_forward(_zeros(4, 2, 2), _zeros(2, 3), _zeros(9, 3), _zeros(9, 3)),
         ShapeError, r"gru_forward: weight_ih must have shape \(9, 2\), got \(9, 3\)"),
    Case("functional.rnn.rnn_forward", "rnn_forward-one-bias",
         lambda: rnn.rnn_forward(_zeros(4, 2, 2), _zeros(2, 3), _zeros(3, 2), _zeros(3, 3),
             _zeros(3)),
         RangeError, r"bias_ih and bias_hh must both"),
    Case("nn.RNN", "rnn-d_output-shape",
         lambda: (lambda m: (m(_zeros(4, 2, 2)), m.backward(_zeros(4, 2, 4))))(RNN(2, 3)),
         ShapeError, r"RNN.backward: d_output must have the output's shape \(4, 2, 3\), got \(4, 2, 4\)"),
    Case("nn.LSTM", "lstm-d_output-int",
         lambda: (lambda m: (m(_zeros(4, 2, 2)), m.backward(np.zeros((4, 2, 3), np.int64))))(
             LSTM(2, 3)),
         DTypeError, r"d_output must be a floating array"),
]

# ===================================================================== conv
def _x(*shape, dtype=np.float32):
    return np.zeros(shape, dtype)


def _backward_with(layer, x, dy):
    """Run a forward on ``x``, then a backward with the given upstream gradient."""
    layer(x)
    return layer.backward(dy)


CONV = [
    Case("nn.Conv2d", "conv-kernel-0",
         lambda: nn.Conv2d(3, 4, 0),
         RangeError, r"Conv2d: kernel_size must be >= 1, got \(0, 0\)"),
    Case("nn.Conv2d", "conv-stride-0",
         lambda: nn.Conv2d(3, 4, 3, stride=0),
         RangeError, r"Conv2d: stride must be >= 1, got \(0, 0\)"),
    Case("nn.Conv2d", "conv-padding-neg",
         lambda: nn.Conv2d(3, 4, 3, padding=-1),
         RangeError, r"Conv2d: padding must be >= 0"),
    Case("nn.Conv2d", "conv-dilation-0",
         lambda: nn.Conv2d(3, 4, 3, dilation=(1, 0)),
         RangeError, r"Conv2d: dilation must be >= 1"),
    Case("nn.Conv2d", "conv-kernel-triple",
         lambda: nn.Conv2d(3, 4, (3, 3, 3)),
         RangeError, r"Conv2d: kernel_size must be an int or a pair of ints, got \(3, 3, 3\)"),
    Case("nn.Conv2d", "conv-kernel-float",
         lambda: nn.Conv2d(3, 4, 2.5),
         RangeError, "Conv2d: kernel_size must be an int or a pair of ints, got 2.5"),
    Case("nn.Conv2d", "conv-padding-same",
         lambda: nn.Conv2d(3, 4, 3, padding="same"),
         RangeError, "padding must be an int, a pair or"),
    Case("nn.Conv2d", "conv-padding-mode",
         lambda: nn.Conv2d(3, 4, 3, padding_mode="reflect"),
         RangeError, "padding_mode must be 'zeros'"),
    Case("nn.Conv2d", "conv-groups",
         lambda: nn.Conv2d(3, 4, 3, groups=2),
         RangeError, r"must be divisible by groups \(2\)"),
    Case("nn.Conv2d", "conv-groups-0",
         lambda: nn.Conv2d(4, 4, 3, groups=0),
         RangeError, "groups must be an int >= 1, got 0"),
    Case("nn.Conv2d", "conv-channels-0",
         lambda: nn.Conv2d(0, 4, 3),
         RangeError, "in_channels must be an int >= 1, got 0"),
    Case("nn.Conv2d", "conv-channels",
         lambda: nn.Conv2d(3, 4, 3)(_x(2, 4, 5, 5)),
         ShapeError, r"Conv2d: input must have shape \(N, 3, H, W\), got \(2, 4, 5, 5\)"),
    Case("nn.Conv2d", "conv-3d",
         lambda: nn.Conv2d(3, 4, 3)(_x(3, 5, 5)),
         ShapeError, r"\(N, 3, H, W\), got \(3, 5, 5\)"),
    Case("nn.Conv2d", "conv-too-small", lambda: nn.Conv2d(3, 4, 3)(_x(1, 3, 2, 2)), ShapeError, "smaller than the"),
    Case("nn.Conv2d", "conv-int",
         lambda: nn.Conv2d(3, 4, 3)(_x(1, 3, 5, 5, dtype=np.int64)),
         DTypeError, "Conv2d: input must have dtype float32 .*got int64"),
    Case("nn.Conv2d", "conv-float64",
         lambda: nn.Conv2d(3, 4, 3)(_x(1, 3, 5, 5, dtype=np.float64)),
         DTypeError, "Conv2d: input must have dtype float32 .*got float64"),
    Case("nn.Conv2d", "conv-list",
         lambda: nn.Conv2d(1, 1, 1)([[[[1.0]]]]),
         DTypeError, "Conv2d: input must be an array .*list"),
    Case("nn.Conv2d", "conv-dy-shape",
         lambda: _backward_with(nn.Conv2d(3, 4, 3), _x(2, 3, 5, 5), _x(2, 4, 3, 4)),
         ShapeError, r"Conv2d.backward: dy must have the output's shape \(2, 4, 3, 3\), got \(2, 4, 3, 4\)"),
    Case("nn.Conv2d", "conv-dy-list",
         lambda: _backward_with(nn.Conv2d(1, 1, 1), _x(1, 1, 1, 1), [[[[1.0]]]]),
         DTypeError, "Conv2d: dy must be an array"),
    Case("nn.MaxPool2d", "maxpool-kernel-0",
         lambda: nn.MaxPool2d(0),
         RangeError, r"MaxPool2d: kernel_size must be >= 1, got \(0, 0\)"),
    Case("nn.MaxPool2d", "maxpool-stride-0",
         lambda: nn.MaxPool2d(2, stride=0),
         RangeError, r"MaxPool2d: stride must be >= 1"),
    Case("nn.MaxPool2d", "maxpool-padding-neg",
         lambda: nn.MaxPool2d(2, padding=-1),
         RangeError, r"MaxPool2d: padding must be >= 0"),
    Case("nn.MaxPool2d", "maxpool-padding-half",
         lambda: nn.MaxPool2d(2, padding=2)(_x(1, 1, 4, 4)),
         RangeError, "padding must be at most half the"),
    Case("nn.MaxPool2d", "maxpool-ceil", lambda: nn.MaxPool2d(2, ceil_mode=True), NotImplementedError, "ceil_mode"),
    Case("nn.MaxPool2d", "maxpool-3d",
         lambda: nn.MaxPool2d(2)(_x(3, 4, 4)),
         ShapeError, r"MaxPool2d: input must have shape \(N, C, H, W\), got \(3, 4, 4\)"),
    Case("nn.MaxPool2d", "maxpool-int",
         lambda: nn.MaxPool2d(2)(_x(1, 1, 4, 4, dtype=np.int64)),
         DTypeError, "MaxPool2d: input must be a floating array, got dtype int64"),
    Case("nn.MaxPool2d", "maxpool-list",
         lambda: nn.MaxPool2d(1)([[[[1.0]]]]),
         DTypeError, "MaxPool2d: input must be an array"),
    Case("nn.MaxPool2d", "maxpool-dy",
         lambda: _backward_with(nn.MaxPool2d(2), _x(1, 2, 4, 4), _x(1, 2, 3, 2)),
         ShapeError, r"MaxPool2d.backward: dy must have the output's shape \(1, 2, 2, 2\)"),
    Case("nn.AvgPool2d", "avgpool-small", lambda: nn.AvgPool2d(3)(_x(1, 1, 2, 2)), ShapeError, "smaller than the"),
    Case("nn.AvgPool2d", "avgpool-kernel",
         lambda: nn.AvgPool2d((2, 0)),
         RangeError, r"AvgPool2d: kernel_size must be >= 1"),
    Case("nn.AvgPool2d", "avgpool-dy",
         lambda: _backward_with(nn.AvgPool2d(2), _x(1, 2, 4, 4), _x(1, 2, 2)),
         ShapeError, r"AvgPool2d.backward: dy must have the output's shape \(1, 2, 2, 2\), got \(1, 2, 2\)"),
    Case("nn.AdaptiveAvgPool2d", "adaptive-2d",
         lambda: nn.AdaptiveAvgPool2d(1)(_x(2, 3)),
         ShapeError, r"AdaptiveAvgPool2d: input must have shape \(N, C, H, W\)"),
    Case("nn.AdaptiveAvgPool2d", "adaptive-size-pair",
         lambda: nn.AdaptiveAvgPool2d((1, 2, 3)),
         RangeError, "AdaptiveAvgPool2d: output_size must be an int or a pair of ints"),
    Case("nn.AdaptiveAvgPool2d", "adaptive-size-0",
         lambda: nn.AdaptiveAvgPool2d(0),
         RangeError, "AdaptiveAvgPool2d: output_size must be >= 1"),
    Case("nn.AdaptiveAvgPool2d", "adaptive-dy",
         lambda: _backward_with(nn.AdaptiveAvgPool2d(1), _x(2, 3, 4, 4), _x(2, 3)),
         ShapeError, r"AdaptiveAvgPool2d.backward: dy must have the output's shape \(2, 3, 1, 1\)"),
    Case("nn.AdaptiveAvgPool2d", "adaptive-dy-int",
         lambda: _backward_with(nn.AdaptiveAvgPool2d(1), _x(2, 3, 4, 4), _x(2, 3, 1, 1, dtype=int)),
         DTypeError, "dy must be a floating array"),
    Case("nn.BatchNorm2d", "bn2d-channels",
         lambda: nn.BatchNorm2d(3)(_x(2, 4, 5, 5)),
         ShapeError, r"BatchNorm2d: input must have shape \(N, 3, H, W\), got \(2, 4, 5, 5\)"),
    Case("nn.BatchNorm1d", "bn1d-4d",
         lambda: nn.BatchNorm1d(3)(_x(2, 3, 4, 4)),
         ShapeError, r"BatchNorm1d: input must have shape \(N, 3\) or \(N, 3, L\)"),
    Case("nn.BatchNorm1d", "bn-one-value",
         lambda: nn.BatchNorm1d(3)(_x(1, 3)),
         ShapeError, "more than 1 value per channel"),
    Case("nn.BatchNorm1d", "bn-int",
         lambda: nn.BatchNorm1d(3)(_x(2, 3, dtype=np.int64)),
         DTypeError, "BatchNorm1d: input must be a floating array, got dtype int64"),
    Case("nn.BatchNorm2d", "bn2d-float64",
         lambda: nn.BatchNorm2d(3)(_x(2, 3, 4, 4, dtype=np.float64)),
         DTypeError, r"BatchNorm2d: input must have dtype float32 \(the parameters'\), got float64"),
    Case("nn.BatchNorm2d", "bn2d-float64-no-affine",
         lambda: nn.BatchNorm2d(3, affine=False)(_x(2, 3, 4, 4, dtype=np.float64)),
         DTypeError, "BatchNorm2d: input must have dtype float32"),
    Case("nn.BatchNorm2d", "bn2d-list",
         lambda: nn.BatchNorm2d(1)([[[[1.0]]], [[[2.0]]]]),
         DTypeError, "BatchNorm2d: input must be an array"),
    Case("nn.BatchNorm2d", "bn2d-dy",
         lambda: _backward_with(nn.BatchNorm2d(2), _x(2, 2, 3, 3), _x(2, 2, 3, 1)),
         ShapeError, r"BatchNorm2d.backward: dy must have the output's shape \(2, 2, 3, 3\), got \(2, 2, 3, 1\)"),
    Case("nn.BatchNorm1d", "bn-eval-dy",
         lambda: _backward_with(nn.BatchNorm1d(2).eval(), _x(4, 2), _x(4, 3)),
         ShapeError, r"BatchNorm1d.backward: dy must have the output's shape \(4, 2\), got \(4, 3\)"),
    Case("nn.BasicBlock", "block-channels",
         lambda: nn.BasicBlock(2, 4)(_x(1, 3, 4, 4)),
         ShapeError, r"Conv2d: input must have shape \(N, 2, H, W\)"),
    Case("nn.BasicBlock", "block-dy",
         lambda: _backward_with(nn.BasicBlock(2, 2), _x(2, 2, 4, 4), _x(2, 2, 4, 5)),
         ShapeError, r"BasicBlock.backward: dy must have the output's shape \(2, 2, 4, 4\)"),
    Case("models.ResNet", "resnet-float64",
         lambda: ResNet([1], [2], in_channels=1)(_x(2, 1, 4, 4, dtype=np.float64)),
         DTypeError, "Conv2d: input must have dtype float32"),
    Case("models.ResNet", "resnet-shapes",
         lambda: ResNet([1, 1], [2]),
         RangeError, "num_blocks .* and widths .* must have the same length"),
    Case("models.ImdbClassifier", "an unknown fc_activation (it used to mean none)",
         lambda: ImdbClassifier(50, 4, 4, fc_activation="tanh"),
         RangeError, r"ImdbClassifier: fc_activation must be one of \('relu', None\), got 'tanh'"),
    Case("models.ImdbClassifier", "an unknown cell",
         lambda: ImdbClassifier(50, 4, 4, cell="lstmm"),
         RangeError, r"ImdbClassifier: cell must be one of .*'lstm'.*got 'lstmm'"),
    Case("models.ImdbClassifier", "residual on a GRU",
         lambda: ImdbClassifier(50, 4, 4, cell="gru", residual=True),
         RangeError, r"ImdbClassifier: residual=True is defined for cell='lstm' only .*got cell='gru'"),

    Case("nn.AdaptiveAvgPool2d", "an image with no pixel (the mean would be 0/0)",
         lambda: nn.AdaptiveAvgPool2d(1)(f32(1, 2, 1, 0)), ShapeError,
         r"AdaptiveAvgPool2d: input must have H, W >= 1, got \(1, 2, 1, 0\)"),
]

# ===================================================================== losses
CLASS_LOSSES = [("CrossEntropyLoss", nn.CrossEntropyLoss), ("NLLLoss", nn.NLLLoss)]
BINARY_LOSSES = [("BCELoss", nn.BCELoss), ("BCEWithLogitsLoss", nn.BCEWithLogitsLoss)]
ALL_LOSSES = CLASS_LOSSES + BINARY_LOSSES


def _loss_backward(cls, upstream):
    def call():
        crit = cls()
        if cls in (nn.CrossEntropyLoss, nn.NLLLoss):
            crit(np.zeros((2, 3)), np.array([0, 1]))
        else:
            crit(np.full((2, 1), 0.5), np.ones((2, 1)))
        return crit.backward(upstream)

    return call


LOSSES = [
    *[Case(f"nn.{name}", "an unknown reduction", lambda cls=cls: cls(reduction="none"), RangeError,
           rf"{name}: reduction must be one of \('mean', 'sum'\), got 'none'") for name, cls in ALL_LOSSES],
    *[Case(f"nn.{name}", "a list as input", lambda cls=cls: cls()([[0.5]], np.ones((1, 1))), DTypeError,
           rf"{name}: input must be an array .*got list") for name, cls in ALL_LOSSES],
    *[Case(f"nn.{name}", "an integer input", lambda cls=cls: cls()(np.ones((2, 3), int), np.array([0, 1])),
           DTypeError, rf"{name}: input must be a floating array, got dtype int64") for name, cls in CLASS_LOSSES],
    *[Case(f"nn.{name}", "mean over an empty batch", lambda cls=cls: cls()(np.zeros((0, 3)), np.zeros(0, int)),
           ShapeError, rf"{name}: input must have at least one element to average \(reduction='mean'\), "
           r"got shape \(0, 3\)") for name, cls in CLASS_LOSSES],
    *[Case(f"nn.{name}", "input not (N, C)", lambda cls=cls: cls()(f64(3), np.array([0, 1, 2])), ShapeError,
           rf"{name}: input must have shape \(N, C\) with C ≥ 1 classes, got \(3,\)") for name, cls in CLASS_LOSSES],
    *[Case(f"nn.{name}", "floating class targets", lambda cls=cls: cls()(f64(2, 3), np.array([0.0, 1.0])),
           DTypeError, rf"{name}: target must be integer class indices, got dtype float64")
      for name, cls in CLASS_LOSSES],
    *[Case(f"nn.{name}", "targets of the wrong shape", lambda cls=cls: cls()(f64(2, 3), np.array([[0, 1]])),
           ShapeError, rf"{name}: target must have shape \(2,\), got \(1, 2\)") for name, cls in CLASS_LOSSES],
    *[Case(f"nn.{name}", f"class target {bad}", lambda cls=cls, bad=bad: cls()(f64(2, 3), np.array([0, bad])),
           IndexRangeError, rf"{name}: target must hold class indices in \[0, 3\), got class target {bad}")
      for name, cls in CLASS_LOSSES for bad in (-1, 3)],
    Case("nn.BCELoss", "a probability above 1", lambda: nn.BCELoss()(np.array([1.5, 0.5]), np.array([1.0, 0.0])),
         RangeError,
         r"BCELoss: input \(probabilities; use BCEWithLogitsLoss on logits\) must lie in \[0, 1\], got 1.5"),
    Case("nn.BCELoss", "a NaN input (it passes a range test)",
         lambda: nn.BCELoss()(np.array([np.nan, 0.5]), np.array([1.0, 0.0])), RangeError,
         r"BCELoss: input .*must lie in \[0, 1\], got nan"),
    *[Case(f"nn.{name}", "a NaN target", lambda cls=cls: cls()(np.array([0.5, 0.5]), np.array([np.nan, 0.0])),
           RangeError, rf"{name}: target must lie in \[0, 1\], got nan") for name, cls in BINARY_LOSSES],
    *[Case(f"nn.{name}", "a target above 1", lambda cls=cls: cls()(np.array([0.5]), np.array([2.0])),
           RangeError, rf"{name}: target must lie in \[0, 1\], got 2.0") for name, cls in BINARY_LOSSES],
    *[Case(f"nn.{name}", "a target of another shape", lambda cls=cls: cls()(f64(2, 1), f64(2)), ShapeError,
           rf"{name}: target must have shape \(2, 1\), got \(2,\)") for name, cls in BINARY_LOSSES],
    *[Case(f"nn.{name}", "a string target", lambda cls=cls: cls()(f64(1), np.array(["1"])), DTypeError,
           rf"{name}: target must be a real array, got dtype <U1") for name, cls in BINARY_LOSSES],
    *[Case(f"nn.{name}", "a non-scalar upstream gradient", _loss_backward(cls, f64(2)), ShapeError,
           rf"{name}\.backward: upstream must be a scalar \(the loss is 0-d\), got shape \(2,\)")
      for name, cls in ALL_LOSSES],
    *[Case(f"nn.{name}", "a NaN upstream gradient", _loss_backward(cls, float("nan")), RangeError,
           rf"{name}\.backward: upstream must be a finite number .*got nan") for name, cls in ALL_LOSSES],
]

# ===================================================================== optimizers
OPTIMIZERS = [
    Case("optim.SGD", "no parameters", lambda: optim.SGD([], lr=0.1), RangeError,
         r"SGD: params must hold at least one Parameter, got an empty list"),
    Case("optim.SGD", "one Parameter, not a list", lambda: optim.SGD(minidl.Parameter(f64(2)), lr=0.1), DTypeError,
         r"SGD: params must be an iterable of Parameters"),
    Case("optim.Adam", "arrays instead of Parameters", lambda: optim.Adam([f64(2)]), DTypeError,
         r"Adam: params must hold Parameters, got ndarray at position 0"),
    Case("optim.Adam", "lr NaN", lambda: optim.Adam([minidl.Parameter(f64(2))], lr=float("nan")), RangeError,
         r"Adam: lr must be a finite number in \[0.0, inf\), got nan"),
    Case("optim.SGD", "a negative lr", lambda: optim.SGD([minidl.Parameter(f64(2))], lr=-0.1), RangeError,
         r"SGD: lr must be a finite number in \[0.0, inf\), got -0.1"),
    Case("optim.SGD", "lr a string", lambda: optim.SGD([minidl.Parameter(f64(2))], lr="0.1"), DTypeError,
         r"SGD: lr must be a real number, got str"),
    Case("optim.SGD", "a negative momentum", lambda: optim.SGD([minidl.Parameter(f64(2))], 0.1, momentum=-0.5),
         RangeError, r"SGD: momentum must be a finite number in \[0.0, inf\), got -0.5"),
    Case("optim.SGD", "Nesterov without momentum", lambda: optim.SGD([minidl.Parameter(f64(2))], 0.1, nesterov=True),
         RangeError, r"SGD: nesterov=True needs momentum > 0"),
    Case("optim.Adam", "beta1 = 1", lambda: optim.Adam([minidl.Parameter(f64(2))], betas=(1.0, 0.999)), RangeError,
         r"Adam: betas\[0\] must be a finite number in \[0.0, 1.0\), got 1.0"),
    Case("optim.Adam", "betas not a pair", lambda: optim.Adam([minidl.Parameter(f64(2))], betas=0.9), RangeError,
         r"Adam: betas must be a pair \(beta1, beta2\), got 0.9"),
    Case("optim.Adam", "a negative eps", lambda: optim.Adam([minidl.Parameter(f64(2))], eps=-1e-8), RangeError,
         r"Adam: eps must be a finite number in \[0.0, inf\), got -1e-08"),
    Case("optim.Adam", "an infinite weight decay",
         lambda: optim.Adam([minidl.Parameter(f64(2))], weight_decay=float("inf")), RangeError,
         r"Adam: weight_decay must be a finite number in \[0.0, inf\), got inf"),
    Case("optim.clip_grad_norm_", "max_norm NaN", lambda: optim.clip_grad_norm_([minidl.Parameter(f64(2))], np.nan),
         RangeError, r"clip_grad_norm_: max_norm must be a finite number in \[0.0, inf\), got nan"),
    Case("optim.SGD.load_state_dict", "Adam's state (lr would change silently)", lambda: _sgd_loads(_adam_state())(),
         CheckpointError, r"SGD\.load_state_dict: the state must come from SGD, got the state of Adam"),
    Case("optim.SGD.load_state_dict", "no lr", lambda: _sgd_loads(_without(_sgd_with_state(), "lr"))(),
         CheckpointError, r"SGD\.load_state_dict: the state has no 'lr' entry"),
    Case("optim.SGD.load_state_dict", "lr NaN", lambda: _sgd_loads(_sgd_with_state(lr=float("nan")))(),
         CheckpointError, r"SGD\.load_state_dict: lr must be a finite number .*got nan"),
    Case("optim.SGD.load_state_dict", "a state of the wrong shape",
         lambda: _sgd_loads(_sgd_with_state(**{"state.0.momentum_buffer": f64(4)}))(), CheckpointError,
         r"'state\.0\.momentum_buffer' must have the parameter's shape \(3,\), got \(4,\)"),
    Case("optim.SGD.load_state_dict", "a complex state",
         lambda: _sgd_loads(_sgd_with_state(**{"state.0.momentum_buffer": np.ones(3, complex)}))(), CheckpointError,
         r"SGD\.load_state_dict: 'state\.0\.momentum_buffer' must be a floating array \(the parameter is float64\), "
         r"got dtype complex128"),
    Case("optim.SGD.load_state_dict", "a state for a parameter it does not have",
         lambda: _sgd_loads(_sgd_with_state(**{"state.5.momentum_buffer": f64(3)}))(), CheckpointError,
         r"'state\.5\.momentum_buffer' is the state of parameter 5, but this optimizer has 1 parameters"),
]

# ===================================================================== loaders
def _imdb(tmp):
    return make_imdb_folder(tmp / "imdb")


def _cifar(tmp):
    write_cifar_release(tmp / "c" / "cifar-10-batches-bin", n=2)
    return tmp / "c"


def _names_zip(tmp):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("data/names/Elvish.txt", "Elrond\n" * 50)
    raw = buf.getvalue()
    (tmp / "data.zip").write_bytes(raw[: len(raw) // 2])
    return tmp / "data.zip"


def _names_nonutf8(tmp):
    (tmp / "n").mkdir()
    (tmp / "n" / "Elvish.txt").write_bytes(b"\xff\xfe\x00bad")
    return tmp / "n"


def _tar_with(tmp, members, name="x.tar.gz"):
    return make_tar(tmp / name, members)


def _ck(tmp, content: bytes):
    (tmp / "ck.npz").write_bytes(content)
    return tmp / "ck.npz"


def _bad_member_tar(tmp):
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as t:
        info = tarfile.TarInfo("../escape.txt")
        info.size = 1
        t.addfile(info, io.BytesIO(b"x"))
    (tmp / "esc.tar").write_bytes(buf.getvalue())
    return tmp / "esc.tar"


LOADERS = [
    Case("data.encode", "one string instead of a list of texts (was read letter by letter)",
         lambda: encode("a fine film", Vocabulary.build([["a", "fine"]], 4), 3), DTypeError,
         r"encode: texts must be a list of texts \(or of token lists\), got one str 'a fine film'"),
    Case("data.encode", "a vocab that is not a Vocabulary", lambda: encode(["a b"], {"a": 2}, 3), DTypeError,
         r"encode: vocab must be a Vocabulary, got dict"),
    Case("data.load_imdb", "imdb-vocab_size",
         lambda t: load_imdb(_imdb(t), vocab_size=1),
         RangeError, "vocab_size .* >= 2, got 1"),
    Case("data.load_imdb", "imdb-max_len",
         lambda t: load_imdb(_imdb(t), max_len=0),
         RangeError, "max_len must be a positive"),
    Case("data.load_imdb", "imdb-truncate",
         lambda t: load_imdb(_imdb(t), truncate="left"),
         RangeError, "truncate and pad"),
    Case("data.load_imdb", "imdb-limit",
         lambda t: load_imdb(_imdb(t), limit=0),
         RangeError, "limit must be a positive"),
    Case("data.load_imdb", "imdb-not-found", lambda t: load_imdb(), DataError, "(?s)IMDB .* not found.*download=True"),
    Case("data.load_imdb", "imdb-path-not-data", lambda t: load_imdb(t / "nowhere"), DataError, "nowhere.*is neither"),
    Case("data.load_imdb", "imdb-not-a-tar",
         lambda t: load_imdb(_ck(t, b"hello").rename(t / "x.tar.gz")),
         DataError, "x.tar.gz is damaged or truncated"),
    Case("data.load_imdb", "imdb-empty-class",
         lambda t: load_imdb(_tar_with(t, imdb_members(
             {k: v for k, v in random_reviews(2).items() if k[:2] != ("train", "neg")}))),
         DataError, "no train/neg reviews found"),
    Case("data.load_imdb", "imdb-unsafe-member",
         lambda t: load_imdb(_tar_with(t, imdb_members() + [("aclImdb/../x", b"e")])),
         DataError, r"climbs out"),
    Case("data.load_names", "names-test_fraction",
         lambda t: names.load_names(t, test_fraction=1.0),
         RangeError, r"test_fraction .*\[0, 1\)"),
    Case("data.load_names", "names-empty-file",
         lambda t: (t / "n").mkdir() or (t / "n" / "Elvish.txt").write_text("")
             or names.load_names(t / "n"),
         DataError, "Elvish.txt holds no names"),
    Case("data.load_names", "names-not-utf8",
         lambda t: names.load_names(_names_nonutf8(t)),
         DataError, "Elvish.txt is not UTF-8"),
    Case("data.load_names", "names-damaged-zip",
         lambda t: names._extract_names_zip(_names_zip(t), t),
         DataError, "data.zip is damaged or truncated"),
    Case("data.load_names", "names-not-found",
         lambda t: names.load_names(cache_dir=t / "c"),
         DataError, "names data set .* not found"),
    Case("data.names.letter_to_index", "names-letter",
         lambda t: names.letter_to_index("-"),
         RangeError, "letter must be one of the 57"),
    Case("data.encode_names", "names-pad", lambda t: names.encode_names(["Ab"], pad="left"), RangeError, "pad must be"),
    Case("data.one_hot", "names-one_hot-dtype",
         lambda t: names.one_hot(np.array([1.0])),
         DTypeError, "ids must be integers"),
    Case("data.one_hot", "names-one_hot-range", lambda t: names.one_hot(np.array([57])), RangeError, r"\[0, 57\)"),
    Case("data.load_cifar10", "cifar-limit",
         lambda t: cifar10.load_cifar10(_cifar(t), limit=0),
         RangeError, "limit must be a positive"),
    Case("data.load_cifar10", "cifar-not-found",
         lambda t: cifar10.load_cifar10(cache_dir=t / "c"),
         DataError, "CIFAR-10 .* not found"),
    Case("data.cifar10.parse_records", "cifar-records",
         lambda t: cifar10.parse_records(b"\0" * 3000, "x.bin"),
         DataError, "x.bin: 3000 bytes"),
    Case("data.cifar10.parse_records", "cifar-label",
         lambda t: cifar10.parse_records(bytes([12]) + bytes(3072), "x.bin"),
         DataError, "label byte 12"),
    Case("data.load_cifar10", "cifar-missing-member",
         lambda t: cifar10.load_cifar10(_tar_with(t, [
             ("cifar-10-batches-bin/test_batch.bin", bytes(3073))])),
         DataError, "lacks cifar-10-batches-bin/data_batch_1"),
    Case("data.cifar10.CifarLoader", "cifar-loader-dtype",
         lambda t: cifar10.CifarLoader(cifar10.ImageSplit(np.zeros((2, 3, 4, 4)), np.zeros(2)),
             mean=0, std=1),
         DTypeError, "split.images must be uint8"),
    Case("data.cifar10.CifarLoader", "cifar-loader-shape",
         lambda t: cifar10.CifarLoader(cifar10.ImageSplit(np.zeros((2, 4), np.uint8),
             np.zeros(2)), mean=0, std=1),
         ShapeError, r"shape \(N, C, H, W\)"),
    Case("data.BatchLoader", "batch-empty-x",
         lambda t: BatchLoader(np.zeros((0, 3)), None),
         ShapeError, "x must be a non-empty"),
    Case("data.BatchLoader", "batch-y-rows",
         lambda t: BatchLoader(np.zeros((4, 3)), np.zeros(3)),
         ShapeError, "y must have N = 4"),
    Case("data.BatchLoader", "batch-size",
         lambda t: BatchLoader(np.zeros((4, 3)), None, batch_size=0),
         RangeError, "batch_size"),
    Case("data.BatchLoader", "batch-lengths",
         lambda t: BatchLoader(np.zeros((4, 3)), None, lengths=np.array([1, 2, 3, 9])),
         RangeError, r"lengths must lie in \[0, T = 3\]"),
    Case("data.Vocabulary", "vocab-size", lambda t: Vocabulary.build([["a"]], 1), RangeError, "size must be >= 2"),
    Case("data.Vocabulary", "vocab-decode",
         lambda t: Vocabulary.build([["a"]], 3).decode([7]),
         RangeError, "token id 7 outside"),
    Case("data.pad_sequences", "pad-max_len", lambda t: pad_sequences([[1]], 0), RangeError, "max_len must be >= 1"),
    Case("data.download.download", "download-http",
         lambda t: download.download("http://example.org/a", t / "a"),
         RangeError, "url must be HTTPS.*non-HTTPS"),
    Case("data.download.check_official_copy", "official-copy",
         lambda t: download.check_official_copy(_ck(t, b"x"), "0" * 64, "https://e.org/a"),
         DataError, "ck.npz carries the name of the official archive"),
    Case("data.safe_extract", "extract-escape",
         lambda t: safe_extract(_bad_member_tar(t), t / "out"),
         DataError, r"climbs out"),
    Case("data.safe_extract", "extract-damaged",
         lambda t: safe_extract(_ck(t, b"\x1f\x8b" + b"junk" * 40), t / "out"),
         DataError, "ck.npz is damaged or truncated"),

    Case("data.pad_sequences", "a fractional max_len (was silently cut to 2)",
         lambda: pad_sequences([[1, 2, 3]], 2.5), RangeError,
         r"pad_sequences: max_len must be >= 1 \(an integer\), got 2.5"),
]

# ===================================================================== checkpoints
CHECKPOINTS = [
    Case("minidl.load", "ck-empty", lambda t: minidl.load(_ck(t, b"")), CheckpointError, "ck.npz is empty"),
    Case("minidl.load", "ck-text",
         lambda t: minidl.load(_ck(t, b"loss 0.5\n")),
         CheckpointError, "ck.npz is not an .npz"),
    Case("minidl.load", "ck-npy",
         lambda t: minidl.load(_ck(t, b"\x93NUMPY\x01\x00")),
         CheckpointError, "single .npy array"),
    Case("minidl.load", "ck-truncated",
         lambda t: minidl.load(_ck(t, b"PK\x03\x04" + b"\0" * 40)),
         CheckpointError, "ck.npz is truncated or damaged"),
    Case("minidl.save", "ck-key-slash",
         lambda t: minidl.save({"a/b": 1}, t / "s.npz"),
         RangeError, "may not contain '/'"),
    Case("minidl.save", "ck-object-value",
         lambda t: minidl.save({"a": object()}, t / "s.npz"),
         DTypeError, "not an array"),
    Case("checks.check_state_value", "ck-complex-into-float",
         lambda t: check_state_value("w", np.ones(2, complex), np.ones(2, np.float32)),
         CheckpointError, "'w' must be a floating array .*got dtype complex128"),
    Case("Module.load_state_dict", "a complex array", lambda: nn.Linear(3, 2).load_state_dict(
        {"weight": np.ones((2, 3), complex), "bias": f64(2)}), CheckpointError,
        r"load_state_dict: 'weight' must be a floating array \(the parameter is float32\), got dtype complex128"),
    Case("Module.load_state_dict", "an integer array for a float parameter", lambda: nn.Linear(3, 2).load_state_dict(
        {"weight": np.ones((2, 3), int), "bias": f64(2)}), CheckpointError,
        r"'weight' must be a floating array .*got dtype int64"),
    Case("Module.load_state_dict", "a list", lambda: nn.Linear(3, 2).load_state_dict(
        {"weight": [[1.0] * 3] * 2, "bias": f64(2)}), CheckpointError, r"'weight' must be an array, got list"),
    Case("Module.load_state_dict", "a transposed weight", lambda: nn.Linear(3, 2).load_state_dict(
        {"weight": f64(3, 2), "bias": f64(2)}), CheckpointError,
        r"load_state_dict: 'weight' expected shape \(2, 3\), got \(3, 2\)"),
]

# ===================================================================== training
def _run_parts():
    """A tiny run: Linear(2, 2) + cross-entropy + SGD, one batch of four (x, y) rows."""
    model = nn.Linear(2, 2)
    loader = [(np.ones((4, 2), np.float32), np.array([0, 1, 0, 1]))]
    return model, nn.CrossEntropyLoss(), optim.SGD(model.parameters(), lr=0.1), loader


def _fit(**kw):
    model, loss, opt, loader = _run_parts()
    return lambda: train.fit(model, loss, opt, kw.pop("train_loader", loader), **{"epochs": 1, "log": None, **kw})


def _resume_after_fit(tmp, **config):
    model, loss, opt, loader = _run_parts()
    train.fit(model, loss, opt, loader, epochs=1, checkpoint_dir=str(tmp), log=None, config={"hidden": 2})
    model, loss, opt, loader = _run_parts()
    return train.fit(model, loss, opt, loader, epochs=2, checkpoint_dir=str(tmp), resume=True, log=None,
                     config=config)


def _resume_foreign(tmp):
    path = minidl.save({"a": 1}, tmp / "last.npz")
    model, _, opt, loader = _run_parts()
    return train.resume_run(str(path), model, opt, loader, config={})


def _nan_model():
    model = nn.Linear(2, 2)
    model.weight.data[0, 0] = np.nan
    return model


TRAINING = [
    Case("train.fit", "a config that is not JSON", lambda: _fit(config={"f": object()})(), DTypeError,
         r"fit: config must hold JSON values"),
    Case("train.fit", "resume without a checkpoint_dir", lambda: _fit(resume=True)(), RangeError,
         r"fit: resume=True needs checkpoint_dir, got checkpoint_dir=None"),
    Case("train.fit", "epochs a string", lambda: _fit(epochs="3")(), DTypeError,
         r"fit: epochs must be an integer, got str"),
    Case("train.fit", "a negative clip_grad", lambda: _fit(clip_grad=-1.0)(), RangeError,
         r"fit: clip_grad must be a finite number in \[0.0, inf\), got -1.0"),
    Case("train.fit", "a loader without batches", lambda: _fit(train_loader=[])(), ShapeError,
         r"fit: train_loader yielded no samples in epoch 1"),
    Case("train.evaluate", "a loader without batches",
         lambda: train.evaluate(nn.Linear(2, 2), nn.CrossEntropyLoss(), []), ShapeError,
         r"evaluate: the loader yielded no samples"),
    Case("train.fit", "resume with another hyper-parameter", lambda t: _resume_after_fit(t, hidden=3), CheckpointError,
         r"other hyper-parameters than this run asks for \(hidden 2 -> 3\)"),
    Case("train.resume_run", "a checkpoint not written by fit", _resume_foreign, CheckpointError,
         r"last.npz lacks .*not written by minidl.train.fit"),
    Case("train.check_diverged", "NaN in the parameters", lambda: train.check_diverged(_nan_model(), {}, 1),
         TrainingDiverged, r"after epoch 1 the parameters .*weight.* hold NaN or inf"),
]


ALL = LAYERS + RECURRENT + CONV + LOSSES + OPTIMIZERS + LOADERS + CHECKPOINTS + TRAINING


def _takes_tmp(call) -> bool:
    """A row's call takes ``tmp`` when it has a parameter without a default (``lambda t: ...``;
    ``lambda cls=cls: ...`` binds a loop variable and takes nothing)."""
    return any(p.default is p.empty for p in inspect.signature(call).parameters.values())


@pytest.fixture
def tmp(tmp_path, monkeypatch):
    monkeypatch.delenv("MINIDL_DATA", raising=False)
    monkeypatch.setenv("MINIDL_CACHE", str(tmp_path / "cache"))
    return tmp_path


@pytest.mark.parametrize("case", ALL, ids=[c.id for c in ALL])
def test_bad_input_raises_a_named_error(case, tmp):
    # a feature minidl does not offer (MaxPool2d's ceil_mode) is NotImplementedError, as in Python
    assert issubclass(case.error, (MinidlError, NotImplementedError)), f"{case.error.__name__} is not minidl's"
    with pytest.raises(case.error, match=case.match):
        case.call(tmp) if _takes_tmp(case.call) else case.call()


def test_rows_are_distinct():
    ids = [c.id for c in ALL]
    assert len(ids) == len(set(ids)), sorted({i for i in ids if ids.count(i) > 1})


def _public_layers() -> set[str]:
    """Every layer and loss minidl.nn exports (a Module subclass), as "nn.Name"."""
    return {f"nn.{name}" for name in nn.__all__
            if isinstance(getattr(nn, name), type) and issubclass(getattr(nn, name), nn.Module) and name != "Module"}


REQUIRED = _public_layers() | {
    # optimizers
    "optim.SGD", "optim.Adam", "optim.clip_grad_norm_",
    # loaders and data helpers
    "data.load_imdb", "data.load_names", "data.load_cifar10", "data.cifar10.CifarLoader", "data.BatchLoader",
    "data.pad_sequences", "data.encode", "data.Vocabulary", "data.encode_names", "data.one_hot", "data.safe_extract",
    "data.download.download",
    # checkpoints
    "minidl.save", "minidl.load", "Module.load_state_dict", "optim.SGD.load_state_dict", "train.resume_run",
    # training
    "train.fit", "train.evaluate",
}


def test_every_public_entry_point_has_rows():
    covered = {c.who for c in ALL}
    assert not REQUIRED - covered, f"no bad-input rows for {sorted(REQUIRED - covered)}"
