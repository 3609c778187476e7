"""A one-layer LSTM written as a plain Python loop over :class:`minidl.nn.LSTMCell`.

This is the LSTM a student writes first (report B §3, report C's ``MyLSTM``, report E's
"own LSTM"): one cell, stepped through time, back-propagated by calling the cell's
backward once per step, last step first::

    h, c = h0, c0
    for t in range(T):                          forward: T cell calls, T caches pushed
        h, c = cell(x[t], (h, c))
        out[t] = h
    for t in reversed(range(T)):                backward: T cell backwards, T caches popped
        dx[t], dh, dc = cell.backward(dh + d_out[t], dc)

It computes exactly what :class:`minidl.nn.LSTM` computes for one layer (the cell is the
sequence function of :mod:`minidl.functional.lstm` run for one step), with the same
interface, so either can sit
in a model; ``tests/nn/test_cell_loop_lstm.py`` proves the two equal, forward and
backward, at the same weights. What it gives up is speed: the fused layer projects the
inputs of *all* steps with one GEMM and runs the gate arithmetic on preallocated
time-major buffers, while this loop pays, at every step, the input GEMM of one step, the
weights packed into the gate layout again, a fresh allocation for every buffer, and the
argument checks and Python overhead of a whole sequence call (``benchmarks/cell_loop_lstm.py``
times the difference). Nor does it flush the gradients it carries back when they fade into
float32's subnormal range, as the fused layer's reverse loop does
(:mod:`minidl.functional.subnormal`): on a CPU that computes subnormals slowly, a long
sequence's backward here pays for them.

Report C writes its LSTM with separate ``W, U, b`` per gate: ``i = σ(x W_i + h U_i + b_i)``
and so on. Those are blocks of the cell's stacked matrices (rows in PyTorch's gate order
i, f, g, o)::

    W_i = weight_ih[0:H]ᵀ   U_i = weight_hh[0:H]ᵀ   b_i = bias_ih[0:H] + bias_hh[0:H]
    W_f = weight_ih[H:2H]ᵀ  ...  (g: rows 2H:3H, o: rows 3H:4H)

(:meth:`CellLoopLSTM.gate_parameters` returns them). One stacked GEMM per step computes the
four gates' products at once; the separate form does four smaller ones.

**Padding.** With ``lengths`` (host ints, shape (B,)), sequence b is real for steps
``t < lengths[b]``; at its padded steps the state is carried over unchanged
(``h_t = h_{t-1}``, ``c_t = c_{t-1}``) and the output is zero, so ``h_n`` is each
sequence's last real state, as in :class:`minidl.nn.LSTM` (and PyTorch with packed
sequences). In backward the state's gradient then passes a padded step untouched, and the
cell receives zero there, so padded steps give no gradient to x or to the weights.

Shapes: x (T, B, D); hx = (h0, c0), each (1, B, H), zeros if None; output (T, B, H);
h_n, c_n (1, B, H).
"""

from __future__ import annotations

from .. import backend
from ..checks import check_upstream, require_array
from ..errors import DTypeError, ShapeError
from ..functional.sequence import make_lengths
from ..module import Module
from .rnn_cells import LSTMCell

__all__ = ["CellLoopLSTM"]


class CellLoopLSTM(Module):
    """``CellLoopLSTM(input_size, hidden_size, bias=True)``: one LSTM layer as a loop of
    :class:`LSTMCell` steps.

    ``forward(x, hx=None, lengths=None)``: x (T, B, D), hx = (h0, c0) each (1, B, H) ->
    ``(output (T, B, H), (h_n, c_n))``, h_n and c_n (1, B, H), as ``LSTM.forward``.

    ``backward(d_output=None, d_h_n=None, d_c_n=None)`` -> ``(dx, dh0, dc0)`` (any upstream
    may be None = zeros), as ``LSTM.backward``.

    Parameters (those of the cell): ``cell.weight_ih`` (4H, D), ``cell.weight_hh`` (4H, H),
    ``cell.bias_ih``, ``cell.bias_hh`` (4H,); :data:`LSTM_KEYS` maps them to
    :class:`LSTM`'s names (``weight_ih_l0``, ...).
    """

    #: this layer's parameter names -> the one-layer :class:`minidl.nn.LSTM`'s
    LSTM_KEYS = {"cell.weight_ih": "weight_ih_l0", "cell.weight_hh": "weight_hh_l0",
                 "cell.bias_ih": "bias_ih_l0", "cell.bias_hh": "bias_hh_l0"}

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True):
        super().__init__()
        # the cell draws U(−1/√H, 1/√H) for weight_ih, weight_hh, bias_ih, bias_hh in this
        # order, as LSTM does for its layer 0: the same seed gives the same start weights
        self.cell = LSTMCell(input_size, hidden_size, bias)
        self.input_size, self.hidden_size = input_size, hidden_size

    # ------------------------------------------------------------------ checks
    def _check(self, x, hx):
        who = "CellLoopLSTM"
        require_array(x, "input", who)
        if x.ndim != 3 or x.shape[2] != self.input_size or x.shape[0] == 0:  # T = 0 refused, as LSTM
            raise ShapeError(f"{who}: input must have shape (T, B, D) with T ≥ 1 and D = {self.input_size}, "
                             f"got {tuple(getattr(x, 'shape', ()))}")
        dtype = self.cell.weight_ih.data.dtype
        if x.dtype != dtype:
            raise DTypeError(f"{who}: input must have dtype {dtype} (the parameters'), got {x.dtype}")
        B, H = x.shape[1], self.hidden_size
        xp = backend.get_array_module(x)
        if hx is None:
            return xp.zeros((B, H), dtype=dtype), xp.zeros((B, H), dtype=dtype)
        if not isinstance(hx, (tuple, list)) or len(hx) != 2:
            raise DTypeError(f"{who}: hx must be a tuple (h0, c0), got {type(hx).__name__}")
        for name, s in zip(("h0", "c0"), hx):
            if tuple(s.shape) != (1, B, H):
                raise ShapeError(f"{who}: {name} must have shape (1, B, H) = {(1, B, H)}, got {tuple(s.shape)}")
        return hx[0][0], hx[1][0]

    # --8<-- [start:cell_loop_forward]
    def forward(self, x, hx=None, lengths=None):
        h, c = self._check(x, hx)
        xp = backend.get_array_module(x)
        T, B, _ = x.shape
        T_run, keep = T, [None] * T
        if lengths is not None:
            host = make_lengths(lengths, T, B, xp, who="CellLoopLSTM").host  # 1 <= lengths <= T
            T_run = int(host.max()) if host.size else 0  # a batch of 0 sequences runs no step
            # keep[t]: (B, 1) True where step t is real; None where every sequence is real
            keep = [None if (host > t).all() else xp.asarray((host > t)[:, None]) for t in range(T_run)]
        out = xp.zeros((T, B, self.hidden_size), dtype=x.dtype)
        for t in range(T_run):
            h_new, c_new = self.cell(x[t], (h, c))
            if keep[t] is None:
                h, c = h_new, c_new
                out[t] = h
            else:  # padded rows carry the old state on and output zero
                h, c = xp.where(keep[t], h_new, h), xp.where(keep[t], c_new, c)
                out[t] = xp.where(keep[t], h, 0)
        self.save_for_backward((keep, T, T_run, B))
        return out, (h[None], c[None])
    # --8<-- [end:cell_loop_forward]

    # --8<-- [start:cell_loop_backward]
    def backward(self, d_output=None, d_h_n=None, d_c_n=None):
        keep, T, T_run, B = self.saved()
        for name, g, shape in (("d_output", d_output, (T, B, self.hidden_size)),
                               ("d_h_n", d_h_n, (1, B, self.hidden_size)), ("d_c_n", d_c_n, (1, B, self.hidden_size))):
            if g is not None:
                check_upstream(g, shape, name, "CellLoopLSTM")
        w = self.cell.weight_ih.data
        xp = backend.get_array_module(w)
        zeros = xp.zeros((B, self.hidden_size), dtype=w.dtype)
        dh = zeros if d_h_n is None else d_h_n[0]
        dc = zeros if d_c_n is None else d_c_n[0]
        dx = xp.zeros((T, B, self.input_size), dtype=w.dtype)
        for t in range(T_run - 1, -1, -1):
            g = dh if d_output is None else dh + d_output[t]  # h_t feeds both out[t] and step t+1
            if keep[t] is None:
                dx[t], dh, dc = self.cell.backward(g, dc)
            else:
                # real rows: h_t came out of the cell; padded rows: h_t is h_{t-1} passed on (and
                # out[t] = 0 there, so d_output does not count): the cell gets zero on those rows
                # and gives zero back, and the carried gradient skips the step
                dx[t], dh_c, dc_c = self.cell.backward(xp.where(keep[t], g, 0), xp.where(keep[t], dc, 0))
                dh, dc = xp.where(keep[t], dh_c, dh), xp.where(keep[t], dc_c, dc)
        return dx, dh[None], dc[None]
    # --8<-- [end:cell_loop_backward]

    def gate_parameters(self) -> dict:
        """Report C's separate form: ``{"W_i": (D, H), "U_i": (H, H), "b_i": (H,), ...}`` for
        the gates i, f, g, o, as views/sums of the cell's stacked weights (read-only copies
        for the biases). ``i = σ(x W_i + h U_i + b_i)`` equals the cell's gate i."""
        H = self.hidden_size
        W, U = self.cell.weight_ih.data, self.cell.weight_hh.data
        out = {}
        for k, gate in enumerate("ifgo"):
            rows = slice(k * H, (k + 1) * H)
            out[f"W_{gate}"] = W[rows].T
            out[f"U_{gate}"] = U[rows].T
            if self.cell.bias_ih is not None:
                out[f"b_{gate}"] = self.cell.bias_ih.data[rows] + self.cell.bias_hh.data[rows]
        return out

    def extra_repr(self) -> str:
        return f"{self.input_size}, {self.hidden_size}" + ("" if self.cell.bias_ih is not None else ", bias=False")
