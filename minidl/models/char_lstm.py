"""Report C's LSTM name classifier: ``LSTM(57, 64)`` → ``Linear(64, 18)`` → ``LogSoftmax``.

::

    letters (B, T) ids ──one-hot──▶ (T, B, 57) ──LSTM(57, H)──▶ h after each name's last letter (B, H)
                       ──Linear(H, 18)──LogSoftmax──▶ log_probs (B, 18)      (NLLLoss)

Two ways to run the same recurrence, as ``self.rnn`` (the two layers share one interface):

* ``step_by_step=False`` (default): the fused :class:`~minidl.nn.LSTM` layer (one input
  GEMM for all steps, the recurrence in one loop inside the layer);
* ``step_by_step=True``: report C's "own LSTM", :class:`~minidl.nn.CellLoopLSTM`: an
  :class:`~minidl.nn.LSTMCell` called once per letter in a Python loop, its backward
  called once per letter, last first. A name that has ended keeps its state from its last
  letter on, so the state read at the end is the one after its last real letter, as with
  the fused layer's ``lengths``.

With the same weights (``rnn.weight_ih_l0`` ↔ ``rnn.cell.weight_ih``, ...:
:data:`~minidl.nn.CellLoopLSTM.LSTM_KEYS`) the two give the same outputs and gradients:
``tests/models/test_char_models.py`` checks it in float64.
"""

from __future__ import annotations

from .. import backend
from ..module import Module
from ..nn import LSTM, CellLoopLSTM, Linear, LogSoftmax
from .char_rnn import check_lengths, letters_time_major

__all__ = ["CharLSTM"]


class CharLSTM(Module):
    """``CharLSTM(input_size=57, hidden_size=64, output_size=18, step_by_step=False)``.

    ``forward(x, lengths=None)``: x letter ids (B, T) or one-hot (B, T, I), lengths (B,)
    host ints in [1, T] (None: all T) -> log_probs (B, O).
    ``backward(d_log_probs)`` -> d one-hot (B, T, I) for one-hot input, None for ids.
    Parameters: ``rnn.weight_ih_l0`` (4H, I), ``rnn.weight_hh_l0`` (4H, H), ``rnn.bias_ih_l0``,
    ``rnn.bias_hh_l0`` (4H,) — or ``rnn.cell.weight_ih``, ... when ``step_by_step`` — and
    ``fc.weight`` (O, H), ``fc.bias`` (O,).
    """

    def __init__(self, input_size: int = 57, hidden_size: int = 64, output_size: int = 18,
                 step_by_step: bool = False):
        super().__init__()
        self.input_size, self.hidden_size, self.output_size = input_size, hidden_size, output_size
        self.step_by_step = bool(step_by_step)
        self.rnn = (CellLoopLSTM if self.step_by_step else LSTM)(input_size, hidden_size)
        self.fc = Linear(hidden_size, output_size)
        self.softmax = LogSoftmax(dim=1)

    def forward(self, x, lengths=None):
        letters = letters_time_major(x, self.input_size, self.fc.weight.data.dtype, "CharLSTM")
        T, B, _ = letters.shape
        lengths = check_lengths(lengths, T, B, "CharLSTM")
        _, (h_n, _) = self.rnn(letters, lengths=lengths)
        self.save_for_backward(x.ndim == 3)
        return self.softmax(self.fc(h_n[-1]))  # h_n[-1] (B, H): the state after each name's last letter

    def backward(self, d_log_probs):
        one_hot_input = self.saved()
        dh = self.fc.backward(self.softmax.backward(d_log_probs))
        xp = backend.get_array_module(dh)
        d_letters, _, _ = self.rnn.backward(None, xp.ascontiguousarray(dh[None]), None)  # h_n is (1, B, H)
        return d_letters.transpose(1, 0, 2) if one_hot_input else None

    def extra_repr(self) -> str:
        return f"{self.input_size}, {self.hidden_size}, {self.output_size}, step_by_step={self.step_by_step}"
