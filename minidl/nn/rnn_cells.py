"""One-step recurrent cells ``RNNCell``, ``LSTMCell``, ``GRUCell``, as in PyTorch.

A cell computes one time step. Stepping it in a Python loop and then calling ``backward``
as many times (last step first) is back-propagation through time: each call pushes its
cache, each backward pops one (see :mod:`minidl.module`)::

    h, c = h0, c0
    for t in range(T):
        h, c = cell(x[t], (h, c))
    ...
    for t in reversed(range(T)):
        dx[t], dh, dc = cell.backward(dh + dy[t], dc)

The maths lives in :mod:`minidl.functional.rnn_cell`, ``lstm_cell`` and ``gru_cell``; the
sequence layers (:mod:`minidl.nn.recurrent`) run the very same gate functions, fused over
time. Parameters (PyTorch's names and layouts): ``weight_ih`` (gates·H, D), ``weight_hh``
(gates·H, H), ``bias_ih``, ``bias_hh`` (gates·H,), all U(−1/√H, 1/√H) at start.
"""

from __future__ import annotations

import math

from .. import backend
from ..functional import gru_cell as gru_f
from ..functional import lstm_cell as lstm_f
from ..functional import rnn_cell as rnn_f
from ..module import Module, Parameter
from . import init

__all__ = ["RNNCell", "LSTMCell", "GRUCell"]


class _CellBase(Module):
    _gates = 1

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True):
        super().__init__()
        for name, v in (("input_size", input_size), ("hidden_size", hidden_size)):
            if not isinstance(v, int) or isinstance(v, bool) or v < 1:
                raise ValueError(f"{type(self).__name__}: {name} must be a positive int, got {v!r}")
        self.input_size = input_size
        self.hidden_size = hidden_size
        self.bias = bool(bias)
        G, H = self._gates, hidden_size
        k = 1.0 / math.sqrt(H)
        self.weight_ih = Parameter(init.uniform((G * H, input_size), k))
        self.weight_hh = Parameter(init.uniform((G * H, H), k))
        self.bias_ih = Parameter(init.uniform((G * H,), k)) if bias else None
        self.bias_hh = Parameter(init.uniform((G * H,), k)) if bias else None

    def _b(self):
        if self.bias_ih is None:
            return None, None
        return self.bias_ih.data, self.bias_hh.data

    def _check(self, x, states):
        name = type(self).__name__
        if not hasattr(x, "ndim") or x.ndim != 2 or x.shape[1] != self.input_size:
            raise ValueError(
                f"{name} expected x of shape (B, {self.input_size}), got {tuple(getattr(x, 'shape', ()))}"
            )
        dtype = self.weight_ih.data.dtype
        if x.dtype != dtype:
            raise TypeError(f"{name} expected x of dtype {dtype} (the parameters'), got {x.dtype}")
        B = x.shape[0]
        xp = backend.get_array_module(x)
        out = []
        for s in states:
            if s is None:
                s = xp.zeros((B, self.hidden_size), dtype=dtype)
            elif tuple(s.shape) != (B, self.hidden_size):
                raise ValueError(f"{name} expected state of shape (B, H) = {(B, self.hidden_size)}, "
                                 f"got {tuple(s.shape)}")
            out.append(s)
        return out

    def _add_grads(self, dW_ih, dW_hh, db_ih, db_hh):
        self.weight_ih.grad += dW_ih
        self.weight_hh.grad += dW_hh
        if self.bias_ih is not None:
            self.bias_ih.grad += db_ih
            self.bias_hh.grad += db_hh

    def extra_repr(self) -> str:
        return f"{self.input_size}, {self.hidden_size}" + ("" if self.bias else ", bias=False")


class LSTMCell(_CellBase):
    """``LSTMCell(input_size, hidden_size, bias=True)``, as ``torch.nn.LSTMCell``.

    ``cell(x, (h, c))`` with x (B, D), h and c (B, H) (``hx=None``: zeros) -> ``(h', c')``::

        i, f, o = σ(·)   g = tanh(·)   of  x W_ihᵀ + b_ih + h W_hhᵀ + b_hh  (blocks i, f, g, o)
        c' = f ⊙ c + i ⊙ g        h' = o ⊙ tanh(c')

    ``backward(dh', dc')`` (either may be None) -> ``(dx, dh, dc)``.
    Parameters: weight_ih (4H, D), weight_hh (4H, H), bias_ih, bias_hh (4H,).
    """

    _gates = 4

    def forward(self, x, hx=None):
        h, c = self._check(x, (None, None) if hx is None else hx)
        h_new, c_new, cache = lstm_f.lstm_cell_forward(x, h, c, self.weight_ih.data, self.weight_hh.data,
                                                       *self._b())
        self.save_for_backward(cache)
        return h_new, c_new

    def backward(self, dh_new=None, dc_new=None):
        cache = self.saved()
        xp = backend.get_array_module(cache[1])
        if dh_new is None:
            dh_new = xp.zeros_like(cache[1])
        if dc_new is None:
            dc_new = xp.zeros_like(cache[2])
        dx, dh, dc, dW_ih, dW_hh, db = lstm_f.lstm_cell_backward(dh_new, dc_new, cache)
        self._add_grads(dW_ih, dW_hh, db, db)
        return dx, dh, dc



class RNNCell(_CellBase):
    """``RNNCell(input_size, hidden_size, bias=True, nonlinearity="tanh")``, as ``torch.nn.RNNCell``.

    ``cell(x, h)`` with x (B, D), h (B, H) (None: zeros) -> h' = φ(x W_ihᵀ + b_ih + h W_hhᵀ + b_hh),
    φ = tanh or relu. ``backward(dh')`` -> ``(dx, dh)``.
    Parameters: weight_ih (H, D), weight_hh (H, H), bias_ih, bias_hh (H,).
    """

    _gates = 1

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True, nonlinearity: str = "tanh"):
        rnn_f.check_nonlinearity(nonlinearity)
        super().__init__(input_size, hidden_size, bias)
        self.nonlinearity = nonlinearity

    def forward(self, x, hx=None):
        (h,) = self._check(x, (hx,))
        h_new, cache = rnn_f.rnn_cell_forward(x, h, self.weight_ih.data, self.weight_hh.data, *self._b(),
                                              nonlinearity=self.nonlinearity)
        self.save_for_backward(cache)
        return h_new

    def backward(self, dh_new=None):
        cache = self.saved()
        if dh_new is None:
            dh_new = backend.get_array_module(cache[1]).zeros_like(cache[1])
        dx, dh, dW_ih, dW_hh, db = rnn_f.rnn_cell_backward(dh_new, cache)
        self._add_grads(dW_ih, dW_hh, db, db)
        return dx, dh


class GRUCell(_CellBase):
    """``GRUCell(input_size, hidden_size, bias=True, reset_after=True)``, as ``torch.nn.GRUCell``
    (``reset_after=False``: the original form of Cho et al., n = tanh(W_in x + b_in + W_hn (r⊙h) + b_hn)).

    ``cell(x, h)`` with x (B, D), h (B, H) -> h' = (1 − z) ⊙ n + z ⊙ h, with
    r, z = σ(·), n = tanh(W_in x + b_in + r ⊙ (W_hn h + b_hn)) (blocks r, z, n).
    ``backward(dh')`` -> ``(dx, dh)``. Parameters: weight_ih (3H, D), weight_hh (3H, H),
    bias_ih, bias_hh (3H,).
    """

    _gates = 3

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True, reset_after: bool = True):
        super().__init__(input_size, hidden_size, bias)
        self.reset_after = bool(reset_after)

    def forward(self, x, hx=None):
        (h,) = self._check(x, (hx,))
        h_new, cache = gru_f.gru_cell_forward(x, h, self.weight_ih.data, self.weight_hh.data, *self._b(),
                                              reset_after=self.reset_after)
        self.save_for_backward(cache)
        return h_new

    def backward(self, dh_new=None):
        cache = self.saved()
        if dh_new is None:
            dh_new = backend.get_array_module(cache[1]).zeros_like(cache[1])
        dx, dh, dW_ih, dW_hh, db_ih, db_hh = gru_f.gru_cell_backward(dh_new, cache)
        self._add_grads(dW_ih, dW_hh, db_ih, db_hh)
        return dx, dh
