"""``ResidualStackLSTM``: report E's deep LSTM with a residual connection *around each layer*.

Report E stacks L one-layer LSTMs and adds each layer's input to its output before the
next layer reads it:

    u_0 = x                                        (T, B, D)
    u_1 = LSTM_0(u_0)                              (no skip: D ≠ H in general)
    u_{l+1} = LSTM_l(d_l) + u_l,   d_l = dropout(u_l)      for l = 1 … L−1

with dropout between layers (on what the next layer reads, as ``nn.LSTM(dropout=p)``
does), never after the top layer. This is a different place from report A's residual,
which sits *inside* the cell: ``nn.LSTM(residual=True)`` computes h_t = o_t ⊙ tanh(c_t) +
F(x_t) and feeds that h_t back into the recurrence; here the recurrence of every layer is
a plain LSTM and the skip only bypasses the layer as a whole.

**Backward.** Write ū_l = ∂L/∂u_l. The sum u_{l+1} = LSTM_l(d_l) + u_l sends ū_{l+1} both
through the layer and, unchanged, around it:

    d̄_l = LSTM_l.backward(ū_{l+1})          ū_l = ū_{l+1} + mask_l ⊙ d̄_l / (1 − p)

so the gradient reaching layer 1 contains the sum of the upstream gradients that arrived at
every layer above it through the identity paths, whatever the layers' own Jacobians do to
their share. That is why report E's residual LSTM-8 trains where the plain LSTM-8 does not
(the docs chapter on deep, bidirectional and residual layers derives it and shows the
per-layer gradient norms).

**States.** ``h_n[l]`` is the *stack's* output u_{l+1} at each sequence's last real step
(the skip included), so a classifier that reads ``h_n[-1]`` (as :class:`ImdbClassifier`
does) reads the top of the stack; ``c_n[l]`` is layer l's last cell state. With
``lengths``, padded steps stay zero in every u_l (each layer zeroes its padded outputs and
the sums of zeros are zero).

Shapes: x (T, B, D) (time-major; ``batch_first`` is not offered), lengths (B,) host ints;
``forward(x, hx=None, lengths=None)`` -> ``(out (T, B, H), (h_n, c_n))``, h_n and c_n
(L, B, H); ``backward(d_out, d_h_n=None, d_c_n=None)`` -> ``(dx, dh0, dc0)``.
Parameters: ``layers.{l}.weight_ih_l0`` … as ``nn.LSTM``'s, one one-layer LSTM per layer.
"""

from __future__ import annotations

from ..backend import get_array_module
from ..checks import check_shape
from ..errors import RangeError, ShapeError
from ..module import Module, Sequential
from .dropout import Dropout
from .recurrent import LSTM

__all__ = ["ResidualStackLSTM"]


class ResidualStackLSTM(Module):
    """``ResidualStackLSTM(input_size, hidden_size, num_layers=2, dropout=0.0)`` (see the module doc)."""

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 2, dropout: float = 0.0,
                 bidirectional: bool = False):
        super().__init__()
        if bidirectional:
            raise RangeError("ResidualStackLSTM: bidirectional=True is not offered (report E's residual "
                             "stack is one-directional), got bidirectional=True")
        if not isinstance(num_layers, int) or num_layers < 1:
            raise RangeError(f"ResidualStackLSTM: num_layers must be a positive int, got {num_layers!r}")
        self.input_size, self.hidden_size, self.num_layers = input_size, hidden_size, num_layers
        self.num_directions = 1
        self.layers = Sequential(*[LSTM(input_size if l == 0 else hidden_size, hidden_size)
                                   for l in range(num_layers)])
        self.drops = Sequential(*[Dropout(dropout) for _ in range(num_layers - 1)])
        self.dropout = float(dropout)

    # --8<-- [start:resstack_forward]
    def forward(self, x, hx=None, lengths=None):
        if hx is not None:
            raise ShapeError("ResidualStackLSTM: hx must be None (every layer starts from zeros), got an array")
        check_shape(x, (None, None, self.input_size), "input", "ResidualStackLSTM")
        xp = get_array_module(x)
        u, hs, cs = x, [], []
        for l, layer in enumerate(self.layers):
            d = u if l == 0 else self.drops[l - 1](u)
            out, (h_n, c_n) = layer(d, lengths=lengths)
            u = out if l == 0 else out + u
            hs.append(self._last_real(u, h_n, l, lengths, xp))
            cs.append(c_n[0])
        self.save_for_backward((x.shape, None if lengths is None else xp.asarray(lengths)))
        return u, (xp.stack(hs), xp.stack(cs))
    # --8<-- [end:resstack_forward]

    @staticmethod
    def _last_real(u, h_n, l, lengths, xp):
        """u (T, B, H) at each sequence's last real step (for layer 0 that is h_n itself)."""
        if l == 0:
            return h_n[0]
        if lengths is None:
            return u[-1].copy()
        return u[xp.asarray(lengths) - 1, xp.arange(u.shape[1])]

    # --8<-- [start:resstack_backward]
    def backward(self, d_out=None, d_h_n=None, d_c_n=None):
        x_shape, lengths = self.saved()
        T, B, _ = x_shape
        H, L = self.hidden_size, self.num_layers
        xp = get_array_module(next(g for g in (d_out, d_h_n, d_c_n) if g is not None))
        for name, g in (("d_h_n", d_h_n), ("d_c_n", d_c_n)):
            if g is not None:
                check_shape(g, (L, B, H), name, "ResidualStackLSTM.backward")
        du = xp.zeros((T, B, H), dtype=self.layers[0].weight_ih_l0.data.dtype) if d_out is None else d_out.copy()
        dh0 = xp.zeros((L, B, H), dtype=du.dtype)
        dc0 = xp.zeros_like(dh0)
        for l in range(L - 1, -1, -1):
            if d_h_n is not None:  # h_n[l] = u_{l+1} at the last real step
                last = xp.full(B, T - 1) if lengths is None else lengths - 1
                du[last, xp.arange(B)] += d_h_n[l]
            d_c = None if d_c_n is None else d_c_n[l:l + 1]
            dd, dh0_l, dc0_l = self.layers[l].backward(du, None, d_c)
            dh0[l], dc0[l] = dh0_l[0], dc0_l[0]
            if l == 0:
                return dd, dh0, dc0
            du = du + self.drops[l - 1].backward(dd)  # the skip path, plus the layer's path
    # --8<-- [end:resstack_backward]

    def extra_repr(self) -> str:
        s = f"{self.input_size}, {self.hidden_size}, num_layers={self.num_layers}"
        return s + (f", dropout={self.dropout}" if self.dropout else "")
