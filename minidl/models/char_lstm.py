"""Report C's LSTM name classifier: ``LSTM(57, 64)`` → ``Linear(64, 18)`` → ``LogSoftmax``.

::

    letters (B, T) ids ──one-hot──▶ (T, B, 57) ──LSTM(57, H)──▶ h after each name's last letter (B, H)
                       ──Linear(H, 18)──LogSoftmax──▶ log_probs (B, 18)      (NLLLoss)

Two ways to run the same recurrence:

* ``step_by_step=False`` (default): the fused :class:`~minidl.nn.LSTM` layer (one input
  GEMM for all steps, the recurrence in one loop inside the layer);
* ``step_by_step=True``: report C's "own LSTM", an :class:`~minidl.nn.LSTMCell` called
  once per letter in a Python loop, its backward called once per letter, last first.
  A name that has ended keeps its state (``active`` = 0 from its last letter on), so the
  state read at the end is the one after its last real letter, as with the fused layer's
  ``lengths``.

With the same weights (``weight_ih_l0`` ↔ ``weight_ih``, ...) the two give the same outputs
and gradients: ``tests/models/test_char_models.py`` checks it in float64.
"""

from __future__ import annotations

from .. import backend
from ..module import Module
from ..nn import LSTM, Linear, LogSoftmax, LSTMCell
from .char_rnn import check_lengths, letters_time_major

__all__ = ["CharLSTM"]


class CharLSTM(Module):
    """``CharLSTM(input_size=57, hidden_size=64, output_size=18, step_by_step=False)``.

    ``forward(x, lengths=None)``: x letter ids (B, T) or one-hot (B, T, I), lengths (B,)
    host ints in [1, T] (None: all T) -> log_probs (B, O).
    ``backward(d_log_probs)`` -> d one-hot (B, T, I) for one-hot input, None for ids.
    Parameters: ``rnn.weight_ih_l0`` (4H, I), ``rnn.weight_hh_l0`` (4H, H), ``rnn.bias_ih_l0``,
    ``rnn.bias_hh_l0`` (4H,) — or ``cell.weight_ih``, ... when ``step_by_step`` — and
    ``fc.weight`` (O, H), ``fc.bias`` (O,).
    """

    def __init__(self, input_size: int = 57, hidden_size: int = 64, output_size: int = 18,
                 step_by_step: bool = False):
        super().__init__()
        self.input_size, self.hidden_size, self.output_size = input_size, hidden_size, output_size
        self.step_by_step = bool(step_by_step)
        if self.step_by_step:
            self.cell = LSTMCell(input_size, hidden_size)
        else:
            self.rnn = LSTM(input_size, hidden_size)
        self.fc = Linear(hidden_size, output_size)
        self.softmax = LogSoftmax(dim=1)

    def forward(self, x, lengths=None):
        weight = (self.cell.weight_ih if self.step_by_step else self.rnn.weight_ih_l0).data
        letters = letters_time_major(x, self.input_size, weight.dtype, "CharLSTM")
        T, B, _ = letters.shape
        lengths = check_lengths(lengths, T, B, "CharLSTM")
        h = self._cells_forward(letters, lengths) if self.step_by_step else self._fused_forward(letters, lengths)
        self.save_for_backward(x.ndim == 3)
        return self.softmax(self.fc(h))

    def backward(self, d_log_probs):
        one_hot_input = self.saved()
        dh = self.fc.backward(self.softmax.backward(d_log_probs))
        d_letters = self._cells_backward(dh) if self.step_by_step else self._fused_backward(dh)
        return d_letters.transpose(1, 0, 2) if one_hot_input else None

    # ------------------------------------------------------------------ the fused layer
    def _fused_forward(self, letters, lengths):
        _, (h_n, _) = self.rnn(letters, lengths=lengths)
        return h_n[-1]  # (B, H): the state after each name's last real letter

    def _fused_backward(self, dh):
        xp = backend.get_array_module(dh)
        d_h_n = dh[None]  # h_n is (1, B, H): one layer, one direction
        dx, _, _ = self.rnn.backward(None, xp.ascontiguousarray(d_h_n), None)
        return dx

    # ------------------------------------------------------------------ the cell, stepped
    # --8<-- [start:char_lstm_cells]
    def _cells_forward(self, letters, lengths):
        xp = backend.get_array_module(letters)
        T, B, _ = letters.shape
        L = xp.full((1, B), T) if lengths is None else xp.asarray(lengths)[None, :]
        active = (xp.arange(T)[:, None] < L)[:, :, None].astype(letters.dtype)  # (T, B, 1)
        h = xp.zeros((B, self.hidden_size), dtype=letters.dtype)
        c = xp.zeros_like(h)
        for t in range(T):
            h_new, c_new = self.cell(letters[t], (h, c))
            h = xp.where(active[t], h_new, h)  # a name that has ended keeps its state
            c = xp.where(active[t], c_new, c)
        self.save_for_backward(active)
        return h

    def _cells_backward(self, dh):
        active = self.saved()
        xp = backend.get_array_module(dh)
        dc = xp.zeros_like(dh)
        dxs = [None] * active.shape[0]
        for t in range(active.shape[0] - 1, -1, -1):
            # (h, c)_{t+1} = active ? cell(x_t, (h, c)_t) : (h, c)_t
            dx, dh_cell, dc_cell = self.cell.backward(active[t] * dh, active[t] * dc)
            dh = (1 - active[t]) * dh + dh_cell
            dc = (1 - active[t]) * dc + dc_cell
            dxs[t] = dx
        return xp.stack(dxs)
    # --8<-- [end:char_lstm_cells]

    def extra_repr(self) -> str:
        return f"{self.input_size}, {self.hidden_size}, {self.output_size}, step_by_step={self.step_by_step}"
