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
from ..checks import check_dtype, check_upstream, require_array
from ..errors import RangeError, ShapeError
from ..functional.sequence import check_lengths
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
        for name, v in (("input_size", input_size), ("hidden_size", hidden_size), ("num_layers", num_layers)):
            if not isinstance(v, int) or isinstance(v, bool) or v < 1:
                raise RangeError(f"ResidualStackLSTM: {name} must be a positive int, got {v!r}")
        self.input_size, self.hidden_size, self.num_layers = input_size, hidden_size, num_layers
        self.num_directions = 1
        self.layers = Sequential(*[LSTM(input_size if l == 0 else hidden_size, hidden_size)
                                   for l in range(num_layers)])
        self.drops = Sequential(*[Dropout(dropout) for _ in range(num_layers - 1)])
        self.dropout = float(dropout)

    # --8<-- [start:resstack_forward]
    def forward(self, x, hx=None, lengths=None):
        T, B = self._check_input(x, hx)
        host_len = None if lengths is None else check_lengths(lengths, T, B, "ResidualStackLSTM")
        xp = get_array_module(x)
        u, hs, cs = x, [], []
        for l, layer in enumerate(self.layers):
            d = u if l == 0 else self.drops[l - 1](u)  # dropout on what the next layer reads
            out, (h_n, c_n) = layer(d, lengths=host_len)
            u = out if l == 0 else out + u  # the skip around every layer but the first
            hs.append(h_n[0] if l == 0 else self._at_last_real(u, host_len, xp))
            cs.append(c_n[0])
        self.save_for_backward((T, B, host_len))
        return u, (xp.stack(hs), xp.stack(cs))
    # --8<-- [end:resstack_forward]

    def _check_input(self, x, hx):
        who, D = "ResidualStackLSTM", self.input_size
        if hx is not None:
            raise ShapeError(f"{who}: hx must be None (every layer starts from zeros), got {type(hx).__name__}")
        require_array(x, "input", who)
        if x.ndim != 3 or x.shape[0] < 1 or x.shape[2] != D:
            raise ShapeError(f"{who}: input must have shape (T, B, D) with T ≥ 1 and D = {D}, got {tuple(x.shape)}")
        check_dtype(x, self.layers[0].weight_ih_l0.data.dtype, "input", who)
        return x.shape[0], x.shape[1]

    @staticmethod
    def _at_last_real(u, host_len, xp):
        """u (T, B, H) at each sequence's last real step -> (B, H)."""
        if host_len is None:
            return u[-1].copy()
        return u[xp.asarray(host_len - 1), xp.arange(u.shape[1])]

    # --8<-- [start:resstack_backward]
    def backward(self, d_out=None, d_h_n=None, d_c_n=None):
        T, B, host_len = self.saved()
        H, L = self.hidden_size, self.num_layers
        who = "ResidualStackLSTM"
        like = self.layers[0].weight_ih_l0.data
        xp = get_array_module(like)
        for name, g, shape in (("d_out", d_out, (T, B, H)), ("d_h_n", d_h_n, (L, B, H)), ("d_c_n", d_c_n, (L, B, H))):
            if g is not None:
                check_upstream(g, shape, name, who)
        du = xp.zeros((T, B, H), dtype=like.dtype) if d_out is None else d_out.copy()
        last = xp.asarray(xp.full(B, T - 1) if host_len is None else host_len - 1)
        dh0, dc0 = xp.zeros((L, B, H), dtype=like.dtype), xp.zeros((L, B, H), dtype=like.dtype)
        for l in range(L - 1, -1, -1):
            if d_h_n is not None:  # h_n[l] = u_{l+1} at the last real step
                du[last, xp.arange(B)] += d_h_n[l]
            dd, dh0_l, dc0_l = self.layers[l].backward(du, None, None if d_c_n is None else d_c_n[l:l + 1])
            dh0[l], dc0[l] = dh0_l[0], dc0_l[0]
            if l == 0:
                return dd, dh0, dc0
            du = du + self.drops[l - 1].backward(dd)  # the skip path, plus the layer's path
    # --8<-- [end:resstack_backward]

    def extra_repr(self) -> str:
        s = f"{self.input_size}, {self.hidden_size}, num_layers={self.num_layers}"
        return s + (f", dropout={self.dropout}" if self.dropout else "")
