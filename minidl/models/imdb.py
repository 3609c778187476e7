"""Report B's sentiment classifier (and reports A, D, E's variants) for IMDB.

::

    ids (B, T) ──Embedding(V, E, padding_idx=0)──▶ (T, B, E)
               ──{LSTM, GRU, RNN}(E, H, layers, bidirectional, residual)──▶ h_n
               ──last real state of the top layer (both directions if bi) ──▶ (B, H·dirs)
               ──Linear(H·dirs, fc)──ReLU──Dropout(p)──Linear(fc, classes)──▶ scores (B, C)
               [──LogSoftmax (loss "nll") or Sigmoid (loss "bce", one output)]

The recurrent layer runs time-major (its fast layout); the ids are transposed before the
lookup, so the embedding writes (T, B, E) directly and no activation is ever transposed.
With ``lengths`` the recurrent layer stops each review at its last real token, so the
state fed to the head is the one after the review's last word, not after the padding.

Report B writes Linear(64, 64) → Dropout(0.5) → Linear(64, 2) with no non-linearity between
the two Linear layers (which then compose to one linear map); minidl puts a ReLU there by
default (``fc_activation="relu"``, as the PyTorch twin in ``benchmarks/imdb_torch.py`` does:
a hidden layer needs a non-linearity to add anything); ``fc_activation=None`` gives the
report's literal head.
"""

from __future__ import annotations

from ..backend import get_array_module
from ..checks import check_choice
from ..errors import RangeError, ShapeError
from ..module import Module
from ..nn import GRU, LSTM, RNN, CellLoopLSTM, Dropout, Embedding, Linear, LogSoftmax, ReLU, ResidualStackLSTM, Sigmoid

__all__ = ["ImdbClassifier"]

# "lstmcell": report B's own LSTM, nn.LSTMCell stepped in Python (one layer, one direction);
# "lstm_resstack": report E's residual around each layer (nn.ResidualStackLSTM)
_CELLS = {"lstm": LSTM, "gru": GRU, "rnn": RNN, "lstmcell": CellLoopLSTM, "lstm_resstack": ResidualStackLSTM}


class ImdbClassifier(Module):
    """``ImdbClassifier(vocab_size=20001, embed_dim=64, hidden_size=64, cell="lstm", ...)``.

    Args:
        vocab_size: rows of the embedding table (ids in [0, vocab_size); 0 is padding).
        embed_dim, hidden_size: E and H.
        cell: ``"lstm"``, ``"gru"``, ``"rnn"`` (tanh), ``"lstmcell"`` (the same LSTM as a
            Python loop over ``nn.LSTMCell``, :class:`minidl.nn.CellLoopLSTM`; one layer) or
            ``"lstm_resstack"`` (report E's residual around each layer,
            :class:`minidl.nn.ResidualStackLSTM`; one direction).
        num_layers, bidirectional, residual: passed to the recurrent layer (``residual``
            only for the LSTM: report A's h_t = o⊙tanh(c_t) + F(x_t)).
        rnn_dropout: dropout between stacked recurrent layers (training only).
        dropout: dropout in the head, after the first Linear.
        fc_dim: width of the hidden Linear of the head; ``None`` drops it (state → classes).
        num_classes: outputs; 1 with ``output="sigmoid"`` for BCE.
        output: ``"logits"`` (CrossEntropyLoss), ``"log_softmax"`` (NLLLoss) or ``"sigmoid"``
            (BCELoss).
        use_lengths: feed ``lengths`` to the recurrent layer (last *real* state).

    Shapes: forward(ids (B, T) ints, lengths (B,) host ints or None) -> (B, num_classes).
    """

    def __init__(self, vocab_size: int = 20001, embed_dim: int = 64, hidden_size: int = 64, cell: str = "lstm",
                 num_layers: int = 1, bidirectional: bool = False, residual: bool = False, rnn_dropout: float = 0.0,
                 dropout: float = 0.5, fc_dim: int | None = 64, num_classes: int = 2, output: str = "logits",
                 fc_activation: str | None = "relu", use_lengths: bool = True):
        super().__init__()
        who = "ImdbClassifier"
        check_choice(cell, sorted(_CELLS), "cell", who)
        check_choice(output, ("logits", "log_softmax", "sigmoid"), "output", who)
        check_choice(fc_activation, ("relu", None), "fc_activation", who)
        if residual and cell != "lstm":
            raise RangeError(f"{who}: residual=True is defined for cell='lstm' only (report A), got cell={cell!r}")
        self.cell, self.use_lengths = cell, use_lengths
        self.dirs = 2 if bidirectional else 1
        self.embedding = Embedding(vocab_size, embed_dim, padding_idx=0)
        kw = dict(num_layers=num_layers, dropout=rnn_dropout, bidirectional=bidirectional)
        if cell == "lstmcell":
            if num_layers != 1 or bidirectional:
                raise RangeError(f"{who}: cell='lstmcell' is one layer in one direction, got num_layers={num_layers}, "
                                 f"bidirectional={bidirectional}")
            kw = {}
        if residual:
            kw["residual"] = True
        self.rnn = _CELLS[cell](embed_dim, hidden_size, **kw)
        feat = hidden_size * self.dirs
        if fc_dim:
            self.fc1 = Linear(feat, fc_dim)
            self.act = ReLU() if fc_activation == "relu" else None
            self.dropout = Dropout(dropout)
            self.fc2 = Linear(fc_dim, num_classes)
        else:
            self.fc1 = self.act = None
            self.dropout = Dropout(dropout)
            self.fc2 = Linear(feat, num_classes)
        self.out = {"logits": None, "log_softmax": LogSoftmax(dim=1), "sigmoid": Sigmoid()}[output]

    def _head(self):
        return [m for m in (self.fc1, self.act, self.dropout, self.fc2, self.out) if m is not None]

    def forward(self, ids, lengths=None):
        if ids.ndim != 2:
            raise ShapeError(f"ImdbClassifier expects token ids of shape (B, T), got {tuple(ids.shape)}")
        x = self.embedding(ids.T)  # (T, B, E): time-major for the recurrent layer
        # x is table[ids]: the fused layers project each distinct word once (functional/distinct_rows.py),
        # and their backward returns the table's gradient per word (a RowGrad) for the embedding
        rows = {"input_rows": (self.embedding.weight.data, ids.T)} if isinstance(self.rnn, (LSTM, GRU, RNN)) else {}
        _, state = self.rnn(x, lengths=lengths if self.use_lengths else None, **rows)
        h_n = state[0] if isinstance(state, tuple) else state  # (layers·dirs, B, H)
        self.save_for_backward(h_n.shape)
        # top layer's final state; for a bidirectional layer both directions, forward first
        xp = get_array_module(h_n)
        y = h_n[-1] if self.dirs == 1 else xp.concatenate([h_n[-2], h_n[-1]], axis=1)
        for m in self._head():
            y = m(y)
        return y

    def backward(self, dy):
        for m in reversed(self._head()):
            dy = m.backward(dy)
        shape = self.saved()
        xp = get_array_module(dy)
        d_h_n = xp.zeros(shape, dtype=dy.dtype)
        if self.dirs == 1:
            d_h_n[-1] = dy
        else:
            H = shape[-1]
            d_h_n[-2] = dy[:, :H]
            d_h_n[-1] = dy[:, H:]
        # the LSTMs (fused, cell loop, residual stack) also return c_n, whose gradient is zero
        grads = (self.rnn.backward(None, d_h_n, None) if self.cell.startswith("lstm")
                 else self.rnn.backward(None, d_h_n))
        dx = grads[0]  # ∂L/∂x (T, B, E), or ∂L/∂table per word: Embedding.backward takes either
        self.embedding.backward(dx)
        return None
