"""Sequence layers ``RNN``, ``LSTM``, ``GRU``, as ``torch.nn.RNN/LSTM/GRU``.

Each layer of the stack and each direction runs the fused time loop of
:mod:`minidl.functional.recurrent` (one GEMM for the input projection of all steps, one
small GEMM per step, the cell's gate arithmetic on preallocated time-major buffers). This
module only stacks them: layer l's output (both directions concatenated) is layer l+1's
input, with dropout between layers in training; backward runs the stack in reverse.

Common shapes (T steps, B sequences, D input features, H hidden units, L layers,
``dirs`` = 2 if bidirectional else 1):

* ``x``: (T, B, D), or (B, T, D) with ``batch_first=True``;
* ``hx`` / ``h_n`` (and ``c_n`` for the LSTM): (L·dirs, B, H), layer-major, direction-minor
  (index ``l·dirs + d``), as in PyTorch;
* ``output``: (T, B, dirs·H) (or batch-first), the last layer's h_t, both directions
  concatenated (forward first);
* ``lengths``: optional host ints, shape (B,), 1 ≤ lengths[b] ≤ T. Padded steps neither
  change the state nor receive gradient, the output there is zero, ``h_n`` is each
  sequence's last real state, and the reverse direction runs over each sequence's own
  real steps (what PyTorch does with ``pack_padded_sequence``).

Parameters are named and laid out as PyTorch's (``weight_ih_l0`` (gates·H, D),
``weight_hh_l0`` (gates·H, H), ``bias_ih_l0``, ``bias_hh_l0``, ``..._reverse``), so a
PyTorch ``state_dict`` converted to NumPy loads with ``load_state_dict``.
"""

from __future__ import annotations

import math

from .. import backend
from ..functional import recurrent as F
from ..functional.dropout import dropout_mask
from ..functional.rnn_cell import check_nonlinearity
from ..module import Module, Parameter
from . import init

__all__ = ["RNN", "LSTM", "GRU"]


class _RecurrentBase(Module):
    """What RNN, LSTM and GRU share: parameters, stacking, directions, lengths, dropout.

    A subclass sets ``_gates`` (blocks per weight matrix), ``_n_states`` (1, or 2 for
    (h, c)) and implements ``_core_forward`` / ``_core_backward`` for one layer and one
    direction (see :mod:`minidl.functional.recurrent`).
    """

    _gates = 1
    _n_states = 1

    def __init__(self, input_size, hidden_size, num_layers=1, bias=True, batch_first=False,
                 dropout=0.0, bidirectional=False):
        super().__init__()
        for name, v in (("input_size", input_size), ("hidden_size", hidden_size), ("num_layers", num_layers)):
            if not isinstance(v, int) or isinstance(v, bool) or v < 1:
                raise ValueError(f"{type(self).__name__}: {name} must be a positive int, got {v!r}")
        if not 0.0 <= float(dropout) < 1.0:
            raise ValueError(f"{type(self).__name__}: dropout must be in [0, 1), got {dropout!r}")
        self.input_size = input_size
        self.hidden_size = hidden_size
        self.num_layers = num_layers
        self.bias = bool(bias)
        self.batch_first = bool(batch_first)
        self.dropout = float(dropout)
        self.bidirectional = bool(bidirectional)
        self.num_directions = 2 if bidirectional else 1
        H, G = hidden_size, self._gates
        k = 1.0 / math.sqrt(H)  # PyTorch: every weight and bias U(−1/√H, 1/√H)
        for layer in range(num_layers):
            d_in = input_size if layer == 0 else H * self.num_directions
            for d in range(self.num_directions):
                sfx = self._suffix(layer, d)
                setattr(self, "weight_ih" + sfx, Parameter(init.uniform((G * H, d_in), k)))
                setattr(self, "weight_hh" + sfx, Parameter(init.uniform((G * H, H), k)))
                if self.bias:
                    setattr(self, "bias_ih" + sfx, Parameter(init.uniform((G * H,), k)))
                    setattr(self, "bias_hh" + sfx, Parameter(init.uniform((G * H,), k)))
                self._extra_parameters(layer, d, d_in, k)

    @staticmethod
    def _suffix(layer: int, d: int) -> str:
        return f"_l{layer}" + ("_reverse" if d == 1 else "")

    def _extra_parameters(self, layer, d, d_in, k):
        pass

    def _weights(self, layer, d) -> dict:
        """This layer/direction's parameter arrays by short name (``weight_ih``, ...)."""
        sfx = self._suffix(layer, d)
        names = ("weight_ih", "weight_hh", "bias_ih", "bias_hh", "weight_res")
        return {n: getattr(self, n + sfx).data for n in names if hasattr(self, n + sfx)}

    # ------------------------------------------------------------------ checks
    def _check_input(self, x):
        name = type(self).__name__
        layout = "(B, T, D)" if self.batch_first else "(T, B, D)"
        if not hasattr(x, "ndim") or x.ndim != 3 or x.shape[2] != self.input_size:
            raise ValueError(
                f"{name} expected input of shape {layout} with D = {self.input_size}, "
                f"got {tuple(getattr(x, 'shape', ()))}"
            )
        dtype = self.weight_ih_l0.data.dtype
        if x.dtype != dtype:
            raise TypeError(f"{name} expected input of dtype {dtype} (the parameters'), got {x.dtype}")
        if backend.device_of(x) != backend.device_of(self.weight_ih_l0.data):
            raise ValueError(
                f"{name}: input is on {backend.device_of(x)!r} but the parameters are on "
                f"{backend.device_of(self.weight_ih_l0.data)!r}; move one with .to(device)"
            )

    def _initial_states(self, hx, B, xp, dtype):
        LD, H = self.num_layers * self.num_directions, self.hidden_size
        name = type(self).__name__
        if hx is None:
            return tuple(xp.zeros((LD, B, H), dtype=dtype) for _ in range(self._n_states))
        if (self._n_states == 2) != isinstance(hx, (tuple, list)):
            want = "a tuple (h0, c0)" if self._n_states == 2 else "one array h0"
            raise TypeError(f"{name} expected hx = {want}, got {type(hx).__name__}")
        states = tuple(hx) if self._n_states == 2 else (hx,)
        if len(states) != self._n_states:
            raise ValueError(f"{name} expected hx = (h0, c0), got {len(states)} arrays")
        for s in states:
            if tuple(s.shape) != (LD, B, H):
                raise ValueError(
                    f"{name} expected initial state(s) of shape (num_layers·num_directions, B, H) = "
                    f"{(LD, B, H)}, got {tuple(s.shape)}"
                )
            if s.dtype != dtype:
                raise TypeError(f"{name} expected initial state(s) of dtype {dtype}, got {s.dtype}")
        return states

    # ------------------------------------------------------------------ forward / backward
    # --8<-- [start:stack_forward]
    def forward(self, x, hx=None, lengths=None):
        """``(output, h_n)`` (RNN, GRU) or ``(output, (h_n, c_n))`` (LSTM); see the module doc."""
        self._check_input(x)
        xp = backend.get_array_module(x)
        if self.batch_first:
            x = x.transpose(1, 0, 2)
        x = xp.ascontiguousarray(x)
        T, B, _ = x.shape
        dtype = x.dtype
        states0 = self._initial_states(hx, B, xp, dtype)
        lens, T_run = None, T
        if lengths is not None:
            lens = F.make_lengths(lengths, T, B, xp, dtype)
            T_run = int(lens.host.max())
            if (lens.host == T_run).all():
                lens = None  # no padding left to skip: the plain loop is exact
            elif T_run < T:
                lens = F.make_lengths(lens.host, T_run, B, xp, dtype)
            x = x[:T_run]  # steps after the longest sequence are padding everywhere
        dirs = self.num_directions
        finals = [[None] * (self.num_layers * dirs) for _ in range(self._n_states)]
        caches = []
        layer_in = x
        for layer in range(self.num_layers):
            outs, dir_caches = [], []
            for d in range(dirs):
                idx = layer * dirs + d
                x_d = layer_in if d == 0 else F.reverse_padded(layer_in, lens)
                out, st_n, cache = self._core_forward(
                    x_d, tuple(s[idx] for s in states0), self._weights(layer, d), lens
                )
                if d == 1:
                    out = F.reverse_padded(out, lens)
                outs.append(out)
                dir_caches.append(cache)
                for k, s in enumerate(st_n):
                    finals[k][idx] = s
            layer_out = outs[0] if dirs == 1 else xp.concatenate(outs, axis=2)
            mask = None
            if self.training and self.dropout > 0 and layer < self.num_layers - 1:
                mask = dropout_mask(layer_out, self.dropout)  # between layers only, like PyTorch
                layer_out = layer_out * mask
            caches.append((dir_caches, mask))
            layer_in = layer_out
        output = layer_in
        if T_run < T:
            output = xp.concatenate([output, xp.zeros((T - T_run,) + output.shape[1:], dtype=dtype)])
        if self.batch_first:
            output = output.transpose(1, 0, 2)
        self.save_for_backward((caches, lens, T, T_run))
        states_n = tuple(xp.stack(f) for f in finals)
        return (output, states_n) if self._n_states == 2 else (output, states_n[0])
    # --8<-- [end:stack_forward]

    # --8<-- [start:stack_backward]
    def backward(self, d_output=None, *d_states_n):
        """Gradients of x and of the initial state(s): ``(dx, dh0)`` or ``(dx, dh0, dc0)``.

        ``d_output`` has the output's shape, each of ``d_states_n`` (L·dirs, B, H); any may
        be None (zeros). Adds into every parameter's ``grad``.
        """
        caches, lens, T, T_run = self.saved()
        d_states_n = tuple(d_states_n) + (None,) * (self._n_states - len(d_states_n))
        if len(d_states_n) != self._n_states:
            raise TypeError(
                f"{type(self).__name__}.backward takes d_output and {self._n_states} state gradient(s), "
                f"got {len(d_states_n)}"
            )
        H, dirs = self.hidden_size, self.num_directions
        x_dtype = caches[0][0][0][0].dtype
        xp = backend.get_array_module(caches[0][0][0][0])
        d_layer = d_output
        if d_layer is not None:
            if self.batch_first:
                d_layer = d_layer.transpose(1, 0, 2)
            d_layer = d_layer[:T_run]
        B = caches[0][0][0][0].shape[1]
        d_states0 = tuple(xp.zeros((self.num_layers * dirs, B, H), dtype=x_dtype) for _ in range(self._n_states))
        for layer in range(self.num_layers - 1, -1, -1):
            dir_caches, mask = caches[layer]
            if d_layer is not None and mask is not None:
                d_layer = d_layer * mask
            dx = None
            for d in range(dirs):
                idx = layer * dirs + d
                d_o = None
                if d_layer is not None:
                    d_o = d_layer if dirs == 1 else d_layer[:, :, d * H : (d + 1) * H]
                    if d == 1:
                        d_o = F.reverse_padded(d_o, lens)
                d_n = tuple(None if s is None else s[idx] for s in d_states_n)
                dx_d, dst0, grads = self._core_backward(dir_caches[d], d_o, d_n)
                if d == 1:
                    dx_d = F.reverse_padded(dx_d, lens)
                sfx = self._suffix(layer, d)
                for name, g in grads.items():
                    getattr(self, name + sfx).grad += g
                for k, s in enumerate(dst0):
                    d_states0[k][idx] = s
                dx = dx_d if dx is None else dx + dx_d
            d_layer = dx
        dx = d_layer
        if T_run < T:
            dx = xp.concatenate([dx, xp.zeros((T - T_run,) + dx.shape[1:], dtype=dx.dtype)])
        if self.batch_first:
            dx = dx.transpose(1, 0, 2)
        return (dx,) + d_states0
    # --8<-- [end:stack_backward]

    def _core_forward(self, x, states0, w, lengths):  # pragma: no cover - abstract
        raise NotImplementedError

    def _core_backward(self, cache, d_out, d_states_n):  # pragma: no cover - abstract
        raise NotImplementedError

    def extra_repr(self) -> str:
        s = f"{self.input_size}, {self.hidden_size}"
        if self.num_layers != 1:
            s += f", num_layers={self.num_layers}"
        if not self.bias:
            s += ", bias=False"
        if self.batch_first:
            s += ", batch_first=True"
        if self.dropout:
            s += f", dropout={self.dropout}"
        if self.bidirectional:
            s += ", bidirectional=True"
        return s


class LSTM(_RecurrentBase):
    """``LSTM(input_size, hidden_size, num_layers=1, bias=True, batch_first=False,
    dropout=0.0, bidirectional=False, residual=False)``, as ``torch.nn.LSTM``.

    Per step and layer (gates in PyTorch's order i, f, g, o)::

        i, f, o = σ(W_i· x_t + b_i· + W_h· h_{t-1} + b_h·)     g = tanh(same for g)
        c_t = f ⊙ c_{t-1} + i ⊙ g          h_t = o ⊙ tanh(c_t)  [+ F(x_t) if residual]

    ``forward(x, hx=None, lengths=None)``: x (T, B, D) or (B, T, D); hx = (h0, c0), each
    (L·dirs, B, H), zeros if None -> ``(output, (h_n, c_n))``, output (T, B, dirs·H).

    ``backward(d_output, d_h_n=None, d_c_n=None)`` -> ``(dx, dh0, dc0)`` (dh0, dc0 are the
    gradients of the initial states, also when hx was None).

    **Residual** (``residual=True``, minidl's addition for report A and report E's
    res-LSTM): in every layer ``h_t = o_t ⊙ tanh(c_t) + F(x_t)``, where x_t is the layer's
    input and F is the identity when its size equals H, otherwise a learned projection
    ``W_res x_t`` without bias (parameter ``weight_res_l{k}[_reverse]``, (H, D_in)). This
    h_t, *including* F(x_t), is both the layer's output and the recurrent state fed to the
    next step (report A's formula).

    Parameters: ``weight_ih_l{k}`` (4H, D_in), ``weight_hh_l{k}`` (4H, H), ``bias_ih_l{k}``,
    ``bias_hh_l{k}`` (4H,), and ``..._reverse``; init U(−1/√H, 1/√H).
    """

    _gates = 4
    _n_states = 2

    def __init__(self, input_size, hidden_size, num_layers=1, bias=True, batch_first=False,
                 dropout=0.0, bidirectional=False, residual=False):
        # read by _extra_parameters while the base class creates the parameters, so it is set
        # before Module.__init__ (whose __setattr__ is not ready yet)
        object.__setattr__(self, "residual", bool(residual))
        super().__init__(input_size, hidden_size, num_layers, bias, batch_first, dropout, bidirectional)

    def _extra_parameters(self, layer, d, d_in, k):
        if self.residual and d_in != self.hidden_size:
            setattr(self, "weight_res" + self._suffix(layer, d),
                    Parameter(init.uniform((self.hidden_size, d_in), k)))

    def _core_forward(self, x, states0, w, lengths):
        h0, c0 = states0
        out, h_n, c_n, cache = F.lstm_sequence_forward(
            x, h0, c0, w["weight_ih"], w["weight_hh"], w.get("bias_ih"), w.get("bias_hh"),
            lengths=lengths, residual=self.residual, W_res=w.get("weight_res"),
        )
        return out, (h_n, c_n), cache

    def _core_backward(self, cache, d_out, d_states_n):
        dx, dh0, dc0, dW_ih, dW_hh, db, dW_res = F.lstm_sequence_backward(cache, d_out, *d_states_n)
        grads = {"weight_ih": dW_ih, "weight_hh": dW_hh}
        if db is not None:
            grads["bias_ih"] = db
            grads["bias_hh"] = db
        if dW_res is not None:
            grads["weight_res"] = dW_res
        return dx, (dh0, dc0), grads

    def extra_repr(self) -> str:
        return super().extra_repr() + (", residual=True" if self.residual else "")



class RNN(_RecurrentBase):
    """``RNN(input_size, hidden_size, num_layers=1, nonlinearity="tanh", bias=True,
    batch_first=False, dropout=0.0, bidirectional=False)``, as ``torch.nn.RNN``.

    Per step and layer: ``h_t = φ(x_t W_ihᵀ + b_ih + h_{t-1} W_hhᵀ + b_hh)``, φ = tanh or relu.

    ``forward(x, hx=None, lengths=None)``: x (T, B, D) or (B, T, D), hx (L·dirs, B, H) ->
    ``(output, h_n)``; ``backward(d_output, d_h_n=None)`` -> ``(dx, dh0)``.
    Parameters: ``weight_ih_l{k}`` (H, D_in), ``weight_hh_l{k}`` (H, H), ``bias_ih_l{k}``,
    ``bias_hh_l{k}`` (H,), and ``..._reverse``; init U(−1/√H, 1/√H).
    """

    _gates = 1
    _n_states = 1

    def __init__(self, input_size, hidden_size, num_layers=1, nonlinearity="tanh", bias=True,
                 batch_first=False, dropout=0.0, bidirectional=False):
        check_nonlinearity(nonlinearity)
        super().__init__(input_size, hidden_size, num_layers, bias, batch_first, dropout, bidirectional)
        self.nonlinearity = nonlinearity

    def _core_forward(self, x, states0, w, lengths):
        out, h_n, cache = F.rnn_sequence_forward(x, states0[0], w["weight_ih"], w["weight_hh"], w.get("bias_ih"),
                                                 w.get("bias_hh"), self.nonlinearity, lengths)
        return out, (h_n,), cache

    def _core_backward(self, cache, d_out, d_states_n):
        dx, dh0, dW_ih, dW_hh, db = F.rnn_sequence_backward(cache, d_out, d_states_n[0])
        grads = {"weight_ih": dW_ih, "weight_hh": dW_hh}
        if db is not None:
            grads["bias_ih"] = grads["bias_hh"] = db
        return dx, (dh0,), grads

    def extra_repr(self) -> str:
        return super().extra_repr() + (f", nonlinearity={self.nonlinearity!r}" if self.nonlinearity != "tanh" else "")


class GRU(_RecurrentBase):
    """``GRU(input_size, hidden_size, num_layers=1, bias=True, batch_first=False, dropout=0.0,
    bidirectional=False, reset_after=True)``, as ``torch.nn.GRU``.

    Per step and layer (gates in PyTorch's order r, z, n)::

        r = σ(W_ir x_t + b_ir + W_hr h + b_hr)       z = σ(W_iz x_t + b_iz + W_hz h + b_hz)
        n = tanh(W_in x_t + b_in + r ⊙ (W_hn h + b_hn))          (reset_after=True, PyTorch)
        n = tanh(W_in x_t + b_in + W_hn (r ⊙ h) + b_hn)          (reset_after=False, Cho et al.)
        h_t = (1 − z) ⊙ n + z ⊙ h_{t-1}

    ``forward(x, hx=None, lengths=None)`` -> ``(output, h_n)``; ``backward(d_output,
    d_h_n=None)`` -> ``(dx, dh0)``. Parameters: ``weight_ih_l{k}`` (3H, D_in),
    ``weight_hh_l{k}`` (3H, H), ``bias_ih_l{k}``, ``bias_hh_l{k}`` (3H,), ``..._reverse``.
    """

    _gates = 3
    _n_states = 1

    def __init__(self, input_size, hidden_size, num_layers=1, bias=True, batch_first=False,
                 dropout=0.0, bidirectional=False, reset_after=True):
        super().__init__(input_size, hidden_size, num_layers, bias, batch_first, dropout, bidirectional)
        self.reset_after = bool(reset_after)

    def _core_forward(self, x, states0, w, lengths):
        out, h_n, cache = F.gru_sequence_forward(x, states0[0], w["weight_ih"], w["weight_hh"], w.get("bias_ih"),
                                                 w.get("bias_hh"), self.reset_after, lengths)
        return out, (h_n,), cache

    def _core_backward(self, cache, d_out, d_states_n):
        dx, dh0, dW_ih, dW_hh, db_ih, db_hh = F.gru_sequence_backward(cache, d_out, d_states_n[0])
        grads = {"weight_ih": dW_ih, "weight_hh": dW_hh}
        if db_ih is not None:
            grads["bias_ih"], grads["bias_hh"] = db_ih, db_hh
        return dx, (dh0,), grads

    def extra_repr(self) -> str:
        return super().extra_repr() + ("" if self.reset_after else ", reset_after=False")
