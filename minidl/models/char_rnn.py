"""Report C's classic character-level RNN (the PyTorch "classifying names" tutorial's).

Two ``Linear`` layers read the concatenation of the current letter and the hidden state::

    combined = [x_t, h]                         (B, I + H)
    h'       = combined W_i2hᵀ + b_i2h          i2h = Linear(I + H, H)
    y_t      = LogSoftmax(combined W_i2oᵀ + b_i2o)   i2o = Linear(I + H, O)

with I = 57 letters (one-hot), H = 128, O = 18 languages in the report. As in the
tutorial, there is **no** non-linearity on h' (the state is a linear function of the
previous one; the squashing happens only in the output's softmax) — one reason this model
reaches 42% where an LSTM reaches 81% in report C.

The model is stepped in a Python loop, one letter at a time (:meth:`CharRNN.step`), and
back-propagated through time by calling :meth:`CharRNN.step_backward` once per step, last
step first: every call of ``i2h``, ``i2o`` and the LogSoftmax pushed a cache, and every
backward pops one. The gradient of ``combined`` splits back into the letter's part and the
previous state's part::

    d combined = dz_i2h W_i2h + dz_i2o W_i2o      (both Linear backwards, summed)
    dx_t = d combined[:, :I]        dh = d combined[:, I:]

:meth:`~CharRNN.forward_sequence` / :meth:`~CharRNN.backward_sequence` run that loop for a
batch of names of one length, the tutorial's training setup. :meth:`CharRNN.forward` is the
same computation for a padded batch of names of different lengths, in the form every model
of :mod:`minidl.models` has for :func:`minidl.train.fit`:
``log_probs = model(ids, lengths=lengths)``, ``model.backward(d_log_probs)``.
"""

from __future__ import annotations

from .. import backend
from ..checks import require_array
from ..errors import DTypeError, IndexRangeError, RangeError, ShapeError
from ..module import Module
from ..nn import Linear, LogSoftmax

__all__ = ["CharRNN", "letters_time_major", "check_lengths"]


def check_lengths(lengths, T: int, B: int, who: str):
    """``lengths`` (B,) host ints in [1, T], or None (every name has T letters) -> host int64 (B,)."""
    if lengths is None:
        return None
    require_array(lengths, "lengths", who)
    host = backend.asnumpy(lengths)
    if host.dtype.kind not in "iu":
        raise DTypeError(f"{who}: lengths must be integers, got dtype {host.dtype}")
    if host.shape != (B,):
        raise ShapeError(f"{who}: lengths must have shape (B,) = ({B},), got {tuple(host.shape)}")
    if B and (host.min() < 1 or host.max() > T):
        raise RangeError(f"{who}: lengths must lie in [1, T] = [1, {T}], got range [{host.min()}, {host.max()}]")
    return host.astype("int64")


def letters_time_major(x, num_letters: int, dtype, who: str):
    """The names of a batch as time-major one-hot rows (T, B, I), in the parameters' dtype.

    ``x`` is either letter ids (B, T) ints in [0, I), turned into one-hot rows here (row
    ``k`` of the identity is the one-hot of letter ``k``: report D's "one-hot times a weight
    matrix is a row lookup"), or one-hot rows (B, T, I) already.
    """
    require_array(x, "x", who)
    xp = backend.get_array_module(x)
    if x.ndim == 2 and x.dtype.kind in "iu":
        if x.size and (int(x.min()) < 0 or int(x.max()) >= num_letters):
            raise IndexRangeError(f"{who}: letter ids must lie in [0, {num_letters}), "
                                  f"got range [{int(x.min())}, {int(x.max())}]")
        return xp.eye(num_letters, dtype=dtype)[x.T]
    if x.ndim == 3 and x.shape[2] == num_letters and x.dtype.kind == "f":
        if x.dtype != dtype:
            raise DTypeError(f"{who}: one-hot x must have dtype {dtype} (the parameters'), got {x.dtype}")
        return xp.ascontiguousarray(x.transpose(1, 0, 2))
    raise ShapeError(f"{who}: x must be letter ids (B, T) of an integer dtype or one-hot rows (B, T, {num_letters}), "
                     f"got shape {tuple(x.shape)} dtype {x.dtype}")


class CharRNN(Module):
    """``CharRNN(input_size=57, hidden_size=128, output_size=18)``.

    ``forward(x, lengths=None)``: x letter ids (B, T) or one-hot (B, T, I), lengths (B,) host
    ints (None: all T) -> log_probs (B, O) after each name's last letter.
    ``backward(d_log_probs)`` -> d one-hot (B, T, I) for one-hot input, None for ids.

    ``step(x, h)``: x (B, I) (one-hot letters), h (B, H) -> ``(log_probs (B, O), h' (B, H))``.
    ``step_backward(d_log_probs, d_h')`` (either, not both, may be None = zeros) -> ``(dx, dh)``.
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
    def step(self, x, h):
        """One letter: ``(log_probs, h')`` from the letter x (B, I) and the state h (B, H)."""
        if x.ndim != 2 or x.shape[1] != self.input_size:
            raise ShapeError(f"CharRNN: x must have shape (B, {self.input_size}), got {tuple(x.shape)}")
        if tuple(h.shape) != (x.shape[0], self.hidden_size):
            raise ShapeError(f"CharRNN: h must have shape (B, H) = {(x.shape[0], self.hidden_size)}, "
                             f"got {tuple(h.shape)}")
        xp = backend.get_array_module(x)
        combined = xp.concatenate([x, h], axis=1)
        h_new = self.i2h(combined)
        log_probs = self.softmax(self.i2o(combined))
        return log_probs, h_new

    def step_backward(self, d_log_probs=None, d_h_new=None):
        """BPTT through one :meth:`step` (the newest one not yet undone) -> ``(dx, dh)``."""
        # every step pushed one cache in each child, so each child must pop one
        if d_log_probs is None:
            # this step's output does not reach the loss (the tutorial scores only the last
            # one): its gradient is zero, so instead of back-propagating zeros through
            # LogSoftmax and i2o, just drop their caches
            self.softmax.saved()
            self.i2o.saved()
            if d_h_new is None:
                raise RangeError("CharRNN.step_backward needs d_log_probs or d_h_new")
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
            log_probs, h = self.step(letters[t], h)
        return log_probs, h

    def backward_sequence(self, d_log_probs, d_h=None):
        """BPTT through :meth:`forward_sequence`: the loss's gradient enters at the last
        step; each earlier step receives only the state's gradient. Returns
        ``(d_letters (T, B, I), dh0 (B, H))``."""
        T = self.saved()
        dxs = [None] * T
        dh = d_h
        for t in range(T - 1, -1, -1):
            dxs[t], dh = self.step_backward(d_log_probs if t == T - 1 else None, dh)
        xp = backend.get_array_module(dh)
        return xp.stack(dxs), dh
    # --8<-- [end:char_rnn_sequence]

    # --8<-- [start:char_rnn_batch]
    def forward(self, x, lengths=None):
        """A padded batch of names -> log_probs (B, O) after each name's last letter.

        Name ``b`` ends at step ``L_b − 1``; its output is ``i2o`` of the ``combined`` row of
        that step, gathered into ``last`` by a 0/1 mask. Its state stops changing after
        that step (``active`` is 0), so the padding that follows changes nothing. ``i2h``
        runs at steps 0..T−2 only: the state after the last letter is never read.
        """
        letters = letters_time_major(x, self.input_size, self.i2h.weight.data.dtype, "CharRNN")
        T, B, _ = letters.shape
        ends, active = self._masks(check_lengths(lengths, T, B, "CharRNN"), T, B, letters)
        xp = backend.get_array_module(letters)
        h = self.init_hidden(B, letters)
        last = xp.zeros((B, self.input_size + self.hidden_size), dtype=letters.dtype)
        for t in range(T):
            combined = xp.concatenate([letters[t], h], axis=1)
            last += ends[t] * combined  # rows of the names that end at step t
            if t < T - 1:
                h = xp.where(active[t], self.i2h(combined), h)
        self.save_for_backward((ends, active, x.ndim == 3))
        return self.softmax(self.i2o(last))

    def backward(self, d_log_probs):
        """BPTT through :meth:`forward`, last step first; returns d one-hot or None."""
        ends, active, one_hot_input = self.saved()
        T = ends.shape[0]
        xp = backend.get_array_module(d_log_probs)
        d_last = self.i2o.backward(self.softmax.backward(d_log_probs))
        dxs = [None] * T
        dh = xp.zeros((d_last.shape[0], self.hidden_size), dtype=d_last.dtype)  # d h_{t+1}
        for t in range(T - 1, -1, -1):
            d_combined = ends[t] * d_last
            if t < T - 1:
                # h_{t+1} = active ? i2h(combined_t) : h_t  -> split dh between the two
                d_combined = d_combined + self.i2h.backward(active[t] * dh)
                dh = (1 - active[t]) * dh + d_combined[:, self.input_size:]
            else:
                dh = d_combined[:, self.input_size:]
            dxs[t] = d_combined[:, : self.input_size]
        return xp.stack(dxs, axis=1) if one_hot_input else None
    # --8<-- [end:char_rnn_batch]

    @staticmethod
    def _masks(lengths, T: int, B: int, like):
        """``ends`` (T, B, 1): 1 at each name's last letter; ``active`` (T, B, 1): 1 where
        the state must move on to the next letter (t < L − 1); on the device of ``like``."""
        xp = backend.get_array_module(like)
        L = xp.full((1, B), T) if lengths is None else xp.asarray(lengths)[None, :]
        t = xp.arange(T)[:, None]
        ends = (t == L - 1)[:, :, None].astype(like.dtype)
        active = (t < L - 1)[:, :, None].astype(like.dtype)
        return ends, active

    def extra_repr(self) -> str:
        return f"{self.input_size}, {self.hidden_size}, {self.output_size}"
