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

The maths lives in :mod:`minidl.functional.lstm`, ``gru`` and ``rnn``: a cell's step is the
sequence layer's pair run for one step (``lstm_cell_forward`` / ``lstm_cell_backward``), so
the cells and the sequence layers (:mod:`minidl.nn.recurrent`) share one implementation.
Parameters (PyTorch's names and layouts): ``weight_ih`` (gates·H, D), ``weight_hh``
(gates·H, H), ``bias_ih``, ``bias_hh`` (gates·H,), all U(−1/√H, 1/√H) at start.
"""

from __future__ import annotations

import math

from .. import backend
from ..checks import check_dtype, check_shape, check_upstream
from ..errors import DeviceError, DTypeError, RangeError
from ..functional.gru import gru_cell_backward, gru_cell_forward
from ..functional.lstm import lstm_cell_backward, lstm_cell_forward
from ..functional.rnn import check_nonlinearity, rnn_cell_backward, rnn_cell_forward
from ..module import Module, Parameter
from . import init

__all__ = ["RNNCell", "LSTMCell", "GRUCell"]


class _CellBase(Module):
    """What the cells share: parameters, input checks, and the wrap of a functional pair
    (``_forward_fn``, ``_backward_fn``, whose state arguments are ``_state_names`` and whose
    keyword options, with PyTorch's defaults, are ``_option_defaults``)."""

    _gates = 1
    _state_names = ("h",)
    _option_defaults: dict = {}

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True):
        super().__init__()
        for name, v in (("input_size", input_size), ("hidden_size", hidden_size)):
            if not isinstance(v, int) or isinstance(v, bool) or v < 1:
                raise RangeError(f"{type(self).__name__}: {name} must be a positive int, got {v!r}")
        self.input_size = input_size
        self.hidden_size = hidden_size
        self.bias = bool(bias)
        G, H = self._gates, hidden_size
        k = 1.0 / math.sqrt(H)
        self.weight_ih = Parameter(init.uniform((G * H, input_size), k))
        self.weight_hh = Parameter(init.uniform((G * H, H), k))
        self.bias_ih = Parameter(init.uniform((G * H,), k)) if bias else None
        self.bias_hh = Parameter(init.uniform((G * H,), k)) if bias else None

    def _options(self) -> dict:
        """The pair's keyword options, as this cell was built."""
        return {name: getattr(self, name) for name in self._option_defaults}

    def _states(self, x, hx) -> list:
        """Check x (B, D) and the state(s) (B, H) each (None: zeros); returns the states."""
        name, H = type(self).__name__, self.hidden_size
        dtype = self.weight_ih.data.dtype
        check_shape(x, (None, self.input_size), "input", name)
        check_dtype(x, dtype, "input", name)
        if backend.device_of(x) != backend.device_of(self.weight_ih.data):
            raise DeviceError(f"{name}: input is on {backend.device_of(x)!r} but the parameters are on "
                              f"{backend.device_of(self.weight_ih.data)!r}; move one with .to(device)")
        n = len(self._state_names)
        if n == 2 and hx is not None and not (isinstance(hx, (tuple, list)) and len(hx) == 2):
            raise DTypeError(f"{name}: hx must be a tuple (h, c) or None, got {type(hx).__name__}")
        states = [None] * n if hx is None else (list(hx) if n == 2 else [hx])
        xp = backend.get_array_module(x)
        for k, s_name in enumerate(self._state_names):
            if states[k] is None:
                states[k] = xp.zeros((x.shape[0], H), dtype=dtype)
            check_shape(states[k], (x.shape[0], H), s_name, name)
            check_dtype(states[k], dtype, s_name, name)  # a float64 state would turn the step float64
        return states

    def forward(self, x, hx=None):
        weights = {"weight_ih": self.weight_ih.data, "weight_hh": self.weight_hh.data}
        if self.bias:
            weights.update(bias_ih=self.bias_ih.data, bias_hh=self.bias_hh.data)
        y, cache = self._forward_fn(x, *self._states(x, hx), **weights, **self._options())
        self.save_for_backward(cache)
        return y

    def backward(self, dh_new=None):
        """``(dx, dh)`` from ∂L/∂h' (B, H) (None: zero)."""
        return self._backward((dh_new,))

    def _backward(self, dy):
        cache = self.saved()
        for s_name, g in zip(self._state_names, dy):
            if g is not None:
                check_upstream(g, (cache.x.shape[1], self.hidden_size), f"d{s_name}'", type(self).__name__)
        grads = self._backward_fn(dy if len(dy) == 2 else dy[0], cache)
        self.accumulate_grads(grads)
        return (grads["x"],) + tuple(grads[s] for s in self._state_names)

    def extra_repr(self) -> str:
        s = f"{self.input_size}, {self.hidden_size}" + ("" if self.bias else ", bias=False")
        return s + "".join(f", {k}={v!r}" for k, v in self._options().items() if v != self._option_defaults[k])


class LSTMCell(_CellBase):
    """``LSTMCell(input_size, hidden_size, bias=True)``, as ``torch.nn.LSTMCell``.

    ``cell(x, (h, c))`` with x (B, D), h and c (B, H) (``hx=None``: zeros) -> ``(h', c')``::

        i, f, o = σ(·)   g = tanh(·)   of  x W_ihᵀ + b_ih + h W_hhᵀ + b_hh  (blocks i, f, g, o)
        c' = f ⊙ c + i ⊙ g        h' = o ⊙ tanh(c')

    ``backward(dh', dc')`` (either may be None) -> ``(dx, dh, dc)``.
    Parameters: weight_ih (4H, D), weight_hh (4H, H), bias_ih, bias_hh (4H,).
    """

    _gates = 4
    _state_names = ("h", "c")
    _forward_fn = staticmethod(lstm_cell_forward)
    _backward_fn = staticmethod(lstm_cell_backward)

    def backward(self, dh_new=None, dc_new=None):
        """``(dx, dh, dc)`` from ∂L/∂h' and ∂L/∂c' (B, H) each (None: zero)."""
        return self._backward((dh_new, dc_new))


class RNNCell(_CellBase):
    """``RNNCell(input_size, hidden_size, bias=True, nonlinearity="tanh")``, as ``torch.nn.RNNCell``.

    ``cell(x, h)`` with x (B, D), h (B, H) (None: zeros) -> h' = φ(x W_ihᵀ + b_ih + h W_hhᵀ + b_hh),
    φ = tanh or relu. ``backward(dh')`` -> ``(dx, dh)``.
    Parameters: weight_ih (H, D), weight_hh (H, H), bias_ih, bias_hh (H,).
    """

    _gates = 1
    _forward_fn = staticmethod(rnn_cell_forward)
    _backward_fn = staticmethod(rnn_cell_backward)
    _option_defaults = {"nonlinearity": "tanh"}

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True, nonlinearity: str = "tanh"):
        check_nonlinearity(nonlinearity, "RNNCell")
        super().__init__(input_size, hidden_size, bias)
        self.nonlinearity = nonlinearity


class GRUCell(_CellBase):
    """``GRUCell(input_size, hidden_size, bias=True, reset_after=True)``, as ``torch.nn.GRUCell``
    (``reset_after=False``: the form of Cho et al., n = tanh(W_in x + b_in + W_hn (r⊙h) + b_hn)).

    ``cell(x, h)`` with x (B, D), h (B, H) -> h' = (1 − z) ⊙ n + z ⊙ h, with
    r, z = σ(·), n = tanh(W_in x + b_in + r ⊙ (W_hn h + b_hn)) (blocks r, z, n).
    ``backward(dh')`` -> ``(dx, dh)``. Parameters: weight_ih (3H, D), weight_hh (3H, H),
    bias_ih, bias_hh (3H,).
    """

    _gates = 3
    _forward_fn = staticmethod(gru_cell_forward)
    _backward_fn = staticmethod(gru_cell_backward)
    _option_defaults = {"reset_after": True}

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True, reset_after: bool = True):
        super().__init__(input_size, hidden_size, bias)
        self.reset_after = bool(reset_after)
