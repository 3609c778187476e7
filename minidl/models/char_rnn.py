"""Report C's classic character-level RNN (the PyTorch "classifying names" tutorial's).

Two ``Linear`` layers read the concatenation of the current letter and the hidden state::

    combined = [x_t, h]                         (B, I + H)
    h'       = combined W_i2hᵀ + b_i2h          i2h = Linear(I + H, H)
    y_t      = LogSoftmax(combined W_i2oᵀ + b_i2o)   i2o = Linear(I + H, O)

with I = 57 letters (one-hot), H = 128, O = 18 languages in the report. As in the
tutorial, there is **no** non-linearity on h' (the state is a linear function of the
previous one; the squashing happens only in the output's softmax) — one reason this model
reaches 42% where an LSTM reaches 81% in report C.

The model is stepped in a Python loop, one letter at a time, and back-propagated through
time by calling :meth:`backward` once per step, last step first: every call of ``i2h``,
``i2o`` and the LogSoftmax pushed a cache, and every backward pops one. The gradient of
``combined`` splits back into the letter's part and the previous state's part::

    d combined = dz_i2h W_i2h + dz_i2o W_i2o      (both Linear backwards, summed)
    dx_t = d combined[:, :I]        dh = d combined[:, I:]

:meth:`forward_sequence` / :meth:`backward_sequence` run that loop for a whole name and a
loss on the last output, the tutorial's training setup.
"""

from __future__ import annotations

from .. import backend
from ..module import Module
from ..nn import Linear, LogSoftmax

__all__ = ["CharRNN"]


class CharRNN(Module):
    """``CharRNN(input_size=57, hidden_size=128, output_size=18)``.

    ``forward(x, h)``: x (B, I) (one-hot letters), h (B, H) -> ``(log_probs (B, O), h' (B, H))``.
    ``backward(d_log_probs, d_h')`` (either, not both, may be None = zeros) -> ``(dx, dh)``.
    Parameters: ``i2h.weight`` (H, I+H), ``i2h.bias`` (H,), ``i2o.weight`` (O, I+H), ``i2o.bias`` (O,).
    """

    def __init__(self, input_size: int = 57, hidden_size: int = 128, output_size: int = 18):
        super().__init__()
        self.input_size, self.hidden_size, self.output_size = input_size, hidden_size, output_size
        self.i2h = Linear(input_size + hidden_size, hidden_size)
        self.i2o = Linear(input_size + hidden_size, output_size)
        self.softmax = LogSoftmax(dim=1)

    def init_hidden(self, batch: int = 1, like=None):
        """The zero state (batch, H), on the device and dtype of ``like`` (default: the weights)."""
        like = self.i2h.weight.data if like is None else like
        xp = backend.get_array_module(like)
        return xp.zeros((batch, self.hidden_size), dtype=like.dtype)

    # --8<-- [start:char_rnn_step]
    def forward(self, x, h):
        if x.ndim != 2 or x.shape[1] != self.input_size:
            raise ValueError(f"CharRNN expected x of shape (B, {self.input_size}), got {tuple(x.shape)}")
        if tuple(h.shape) != (x.shape[0], self.hidden_size):
            raise ValueError(f"CharRNN expected h of shape (B, H) = {(x.shape[0], self.hidden_size)}, "
                             f"got {tuple(h.shape)}")
        xp = backend.get_array_module(x)
        combined = xp.concatenate([x, h], axis=1)
        h_new = self.i2h(combined)
        log_probs = self.softmax(self.i2o(combined))
        return log_probs, h_new

    def backward(self, d_log_probs=None, d_h_new=None):
        # every step pushed one cache in each child, so each child must pop one
        if d_log_probs is None:
            # this step's output does not reach the loss (the tutorial scores only the last
            # one): its gradient is zero, so instead of back-propagating zeros through
            # LogSoftmax and i2o, just drop their caches
            self.softmax.saved()
            self.i2o.saved()
            if d_h_new is None:
                raise ValueError("CharRNN.backward needs d_log_probs or d_h_new")
            d_combined = self.i2h.backward(d_h_new)
        else:
            d_combined = self.i2o.backward(self.softmax.backward(d_log_probs))
            if d_h_new is not None:
                d_combined += self.i2h.backward(d_h_new)
            else:  # a zero state gradient: pop i2h's cache, add nothing
                self.i2h.saved()
        return d_combined[:, : self.input_size], d_combined[:, self.input_size :]
    # --8<-- [end:char_rnn_step]

    # --8<-- [start:char_rnn_sequence]
    def forward_sequence(self, letters, h=None):
        """Read a batch of names letter by letter. letters (T, B, I) -> the last step's
        ``(log_probs (B, O), h_T (B, H))``, as the tutorial's training loop."""
        h = self.init_hidden(letters.shape[1], letters) if h is None else h
        self.save_for_backward(letters.shape[0])
        for t in range(letters.shape[0]):
            log_probs, h = self(letters[t], h)
        return log_probs, h

    def backward_sequence(self, d_log_probs, d_h=None):
        """BPTT through :meth:`forward_sequence`: the loss's gradient enters at the last
        step; each earlier step receives only the state's gradient. Returns
        ``(d_letters (T, B, I), dh0 (B, H))``."""
        T = self.saved()
        dxs = [None] * T
        dh = d_h
        for t in range(T - 1, -1, -1):
            dxs[t], dh = self.backward(d_log_probs if t == T - 1 else None, dh)
        xp = backend.get_array_module(dh)
        return xp.stack(dxs), dh
    # --8<-- [end:char_rnn_sequence]

    def extra_repr(self) -> str:
        return f"{self.input_size}, {self.hidden_size}, {self.output_size}"
