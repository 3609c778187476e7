"""``PeepholeLSTMCell``: report E's LSTM step, whose gates also read the previous cell state
(maths and backward in :mod:`minidl.functional.peephole_lstm`)."""

from __future__ import annotations

import math

from ..backend import get_array_module
from ..checks import check_dtype, check_shape, check_upstream
from ..errors import DTypeError, RangeError
from ..functional.peephole_lstm import peephole_lstm_cell_backward, peephole_lstm_cell_forward
from ..module import Module, Parameter
from . import init

__all__ = ["PeepholeLSTMCell"]


class PeepholeLSTMCell(Module):
    """``PeepholeLSTMCell(input_size, hidden_size, bias=True)``; the interface of ``LSTMCell``.

    ``cell(x, (h, c))`` with x (B, D), h and c (B, H) (``hx=None``: zeros) -> ``(h', c')``;
    ``backward(dh', dc')`` (either may be None) -> ``(dx, dh, dc)``.
    Parameters: weight_ih (4H, D), weight_hh (4H, H), weight_ch (4H, H), bias_ih, bias_hh
    (4H,), all U(−1/√H, 1/√H) at start, as PyTorch initialises its LSTM.
    """

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True):
        super().__init__()
        for name, v in (("input_size", input_size), ("hidden_size", hidden_size)):
            if not isinstance(v, int) or isinstance(v, bool) or v < 1:
                raise RangeError(f"PeepholeLSTMCell: {name} must be a positive int, got {v!r}")
        self.input_size, self.hidden_size = int(input_size), int(hidden_size)
        k, H = 1.0 / math.sqrt(hidden_size), hidden_size
        self.weight_ih = Parameter(init.uniform((4 * H, input_size), k))
        self.weight_hh = Parameter(init.uniform((4 * H, H), k))
        self.weight_ch = Parameter(init.uniform((4 * H, H), k))
        self.bias_ih = Parameter(init.uniform((4 * H,), k)) if bias else None
        self.bias_hh = Parameter(init.uniform((4 * H,), k)) if bias else None

    def forward(self, x, hx=None):
        who, dtype = "PeepholeLSTMCell", self.weight_ih.data.dtype
        check_shape(x, (None, self.input_size), "input", who)
        check_dtype(x, dtype, "input", who)
        B, H = x.shape[0], self.hidden_size
        if hx is None:
            xp = get_array_module(x)
            hx = (xp.zeros((B, H), dtype=dtype), xp.zeros((B, H), dtype=dtype))
        if not isinstance(hx, (tuple, list)) or len(hx) != 2:
            raise DTypeError(f"{who}: hx must be a tuple (h, c) of (B, H) arrays, got {type(hx).__name__}")
        for name, s in zip(("h", "c"), hx):
            check_shape(s, (B, H), name, who)
            check_dtype(s, dtype, name, who)
        bias = (None, None) if self.bias_ih is None else (self.bias_ih.data, self.bias_hh.data)
        (h_new, c_new), cache = peephole_lstm_cell_forward(x, hx[0], hx[1], self.weight_ih.data,
                                                           self.weight_hh.data, self.weight_ch.data, *bias)
        self.save_for_backward(cache)
        return h_new, c_new

    def backward(self, dh_new=None, dc_new=None):
        cache = self.saved()
        for name, g in (("dh'", dh_new), ("dc'", dc_new)):
            if g is not None:
                check_upstream(g, cache.c.shape, name, "PeepholeLSTMCell")
        grads = peephole_lstm_cell_backward((dh_new, dc_new), cache)
        self.accumulate_grads(grads)
        return grads["x"], grads["h"], grads["c"]

    def extra_repr(self) -> str:
        return f"{self.input_size}, {self.hidden_size}" + ("" if self.bias_ih is not None else ", bias=False")
