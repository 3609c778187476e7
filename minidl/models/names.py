"""Report C's three name classifiers (surname → one of 18 languages), for whole batches.

Every model here takes a batch of names as letter ids and returns log-probabilities::

    ids (B, T) ints in [0, 57), lengths (B,)  ──one-hot──▶  letters (T, B, 57)
        ──recurrence over each name's own letters──▶  state after its last letter
        ──▶  log_probs (B, 18)                                    (then NLLLoss)

which is the call :func:`minidl.train.fit` makes: ``model(ids, lengths)`` then
``model.backward(d_log_probs)``. The one-hot rows are made on the device from the ids
(row ``k`` of the identity matrix is the one-hot of letter ``k``), so only the small
integer batch travels from the host.

* :class:`NamesRNN`: the tutorial's classic char-RNN (:class:`minidl.models.CharRNN`:
  ``i2h = Linear(57 + 128, 128)``, ``i2o = Linear(57 + 128, 18)``, ``LogSoftmax``), stepped
  letter by letter; the prediction is the output at each name's last letter.
* :class:`NamesLSTM`: ``LSTM(57, 64)`` → the state after the last letter → ``Linear(64, 18)``
  → ``LogSoftmax``. With ``cell_loop=True`` the LSTM is :class:`minidl.nn.CellLoopLSTM`
  (``nn.LSTMCell`` stepped in Python): report C's "own LSTM" (``MyLSTM``), which computes the
  same function and is proven equal to the fused layer in the tests.

**Names of different lengths in one batch.** The tutorial trains on one name at a time, so
it never pads. A batch (evaluation, or training with ``batch_size > 1``) pads each name
after its last letter; with ``lengths`` the recurrence leaves a finished name's state
unchanged at its padded steps, so the state (and, for the char-RNN, the output) that the
head reads is the one after the name's own last letter. A name's prediction therefore
does not depend on the batch it sits in (``tests/models/test_names_models.py``).
"""

from __future__ import annotations

from .. import backend
from ..errors import DTypeError, IndexRangeError, ShapeError
from ..module import Module
from ..nn import LSTM, CellLoopLSTM, Linear, LogSoftmax
from .char_rnn import CharRNN

__all__ = ["NamesRNN", "NamesLSTM", "names_model", "one_hot_letters"]


def one_hot_letters(ids, n_letters: int, dtype, who: str = "one_hot_letters"):
    """ids (B, T) ints in [0, n_letters) -> one-hot letters (T, B, n_letters), time-major."""
    if not hasattr(ids, "ndim") or ids.ndim != 2:
        raise ShapeError(f"{who}: ids must have shape (B, T), got {tuple(getattr(ids, 'shape', ()))}")
    if ids.dtype.kind not in "iu":
        raise DTypeError(f"{who}: ids must be integer letter ids, got dtype {ids.dtype}")
    xp = backend.get_array_module(ids)
    if ids.size and (int(ids.min()) < 0 or int(ids.max()) >= n_letters):
        raise IndexRangeError(f"{who}: ids must lie in [0, {n_letters}), got range [{int(ids.min())}, "
                              f"{int(ids.max())}]")
    return xp.eye(n_letters, dtype=dtype)[ids.T]


def _host_lengths(lengths, B: int, T: int, who: str):
    """Check lengths (host ints (B,), 1..T); None means every name is T letters long."""
    np = backend.numpy
    if lengths is None:
        return np.full(B, T, dtype=np.int64)
    host = np.asarray(backend.asnumpy(lengths))
    if host.shape != (B,) or host.dtype.kind not in "iu":
        raise ShapeError(f"{who}: lengths must be integers of shape ({B},), got {host.dtype} {host.shape}")
    if host.size and (host.min() < 1 or host.max() > T):
        raise IndexRangeError(f"{who}: lengths must lie in [1, T = {T}], got range [{host.min()}, {host.max()}]")
    return host.astype(np.int64)


class NamesRNN(Module):
    """``NamesRNN(n_letters=57, hidden_size=128, n_languages=18)``: report C's char-RNN.

    ``forward(ids (B, T), lengths (B,) or None) -> log_probs (B, n_languages)``: the
    :class:`CharRNN` step at every letter, h_0 = 0, ``h`` kept unchanged at padded steps;
    row b of the result is the step output at letter ``lengths[b] − 1``.
    ``backward(d_log_probs) -> None`` (back-propagation through time; adds into the grads).
    Parameters: ``rnn.i2h.weight`` (H, 57 + H), ``rnn.i2h.bias``, ``rnn.i2o.weight``
    (18, 57 + H), ``rnn.i2o.bias``.
    """

    def __init__(self, n_letters: int = 57, hidden_size: int = 128, n_languages: int = 18):
        super().__init__()
        self.n_letters, self.hidden_size, self.n_languages = n_letters, hidden_size, n_languages
        self.rnn = CharRNN(n_letters, hidden_size, n_languages)

    # --8<-- [start:names_rnn_forward]
    def forward(self, ids, lengths=None):
        dtype = self.rnn.i2h.weight.data.dtype
        letters = one_hot_letters(ids, self.n_letters, dtype, "NamesRNN")
        xp = backend.get_array_module(letters)
        T, B, _ = letters.shape
        host = _host_lengths(lengths, B, T, "NamesRNN")
        T_run = int(host.max())
        h = self.rnn.init_hidden(B, letters)
        out = None
        # keep[t]: rows still inside their name at step t (None: all of them);
        # last[t]: rows whose last letter is step t (None: none of them)
        keep = [None if (host > t).all() else xp.asarray((host > t)[:, None]) for t in range(T_run)]
        last = [xp.asarray((host - 1 == t)[:, None]) if (host - 1 == t).any() else None for t in range(T_run)]
        for t in range(T_run):
            log_probs, h_new = self.rnn(letters[t], h)
            h = h_new if keep[t] is None else xp.where(keep[t], h_new, h)
            if last[t] is not None:
                out = log_probs if out is None else xp.where(last[t], log_probs, out)
        self.save_for_backward((keep, last, B))
        return out
    # --8<-- [end:names_rnn_forward]

    # --8<-- [start:names_rnn_backward]
    def backward(self, d_log_probs):
        keep, last, B = self.saved()
        xp = backend.get_array_module(d_log_probs)
        dh = None  # nothing reads the state after the last step
        for t in range(len(keep) - 1, -1, -1):
            # the loss sees step t's output only on the rows whose name ends at step t
            d_out = None if last[t] is None else xp.where(last[t], d_log_probs, 0)
            if keep[t] is None:  # (at the last step d_out is set: the longest name ends there)
                _, dh = self.rnn.backward(d_out, dh)
            else:
                # padded rows: h_t = h_{t-1}, so their gradient skips the step; the cell gets zero there
                dh_full = xp.zeros((B, self.hidden_size), dtype=d_log_probs.dtype) if dh is None else dh
                _, dh_cell = self.rnn.backward(d_out, xp.where(keep[t], dh_full, 0))
                dh = xp.where(keep[t], dh_cell, dh_full)
        return None
    # --8<-- [end:names_rnn_backward]

    def extra_repr(self) -> str:
        return f"{self.n_letters}, {self.hidden_size}, {self.n_languages}"


class NamesLSTM(Module):
    """``NamesLSTM(n_letters=57, hidden_size=64, n_languages=18, cell_loop=False)``: report C's
    ``LSTM(57, 64)`` → ``Linear(64, 18)`` → ``LogSoftmax``.

    ``forward(ids (B, T), lengths (B,) or None) -> log_probs (B, n_languages)`` from the
    state after each name's last letter; ``backward(d_log_probs) -> None``.
    ``cell_loop=True`` runs the recurrence as :class:`minidl.nn.CellLoopLSTM` (report C's
    own LSTM); it draws the same start weights from the same seed as the fused layer.
    Parameters: ``rnn.weight_ih_l0`` (4H, 57), ``rnn.weight_hh_l0`` (4H, H), ``rnn.bias_ih_l0``,
    ``rnn.bias_hh_l0`` (``rnn.cell.weight_ih``, ... with ``cell_loop``), ``out.weight``
    (18, H), ``out.bias``.
    """

    def __init__(self, n_letters: int = 57, hidden_size: int = 64, n_languages: int = 18, cell_loop: bool = False):
        super().__init__()
        self.n_letters, self.hidden_size, self.n_languages = n_letters, hidden_size, n_languages
        self.cell_loop = bool(cell_loop)
        self.rnn = CellLoopLSTM(n_letters, hidden_size) if cell_loop else LSTM(n_letters, hidden_size)
        self.out = Linear(hidden_size, n_languages)
        self.softmax = LogSoftmax(dim=1)

    def forward(self, ids, lengths=None):
        dtype = self.out.weight.data.dtype
        letters = one_hot_letters(ids, self.n_letters, dtype, "NamesLSTM")
        host = None if lengths is None else _host_lengths(lengths, letters.shape[1], letters.shape[0], "NamesLSTM")
        _, (h_n, _) = self.rnn(letters, lengths=host)
        self.save_for_backward(h_n.shape)
        return self.softmax(self.out(h_n[0]))

    def backward(self, d_log_probs):
        shape = self.saved()
        d_h = self.out.backward(self.softmax.backward(d_log_probs))
        self.rnn.backward(None, d_h.reshape(shape), None)
        return None

    def extra_repr(self) -> str:
        flag = ", cell_loop=True" if self.cell_loop else ""
        return f"{self.n_letters}, {self.hidden_size}, {self.n_languages}{flag}"


def names_model(kind: str, n_letters: int = 57, n_languages: int = 18) -> Module:
    """Report C's model by its example flag: ``"rnn"`` (char-RNN, hidden 128), ``"lstm"``
    (LSTM(57, 64) + Linear), ``"mylstm"`` (the same with the cell-loop LSTM)."""
    if kind == "rnn":
        return NamesRNN(n_letters, 128, n_languages)
    if kind in ("lstm", "mylstm"):
        return NamesLSTM(n_letters, 64, n_languages, cell_loop=kind == "mylstm")
    raise ValueError(f"names_model: kind must be 'rnn', 'lstm' or 'mylstm', got {kind!r}")
