"""Sequence layers ``RNN``, ``LSTM``, ``GRU``, as ``torch.nn.RNN/LSTM/GRU``.

Each layer of the stack and each direction runs one functional sequence pair
(:func:`~minidl.functional.lstm.lstm_forward` / ``lstm_backward``, and the same in
:mod:`minidl.functional.gru` and :mod:`minidl.functional.rnn`: one GEMM for the input
projection of all steps, one small GEMM per step, the cell's gate arithmetic on
preallocated time-major buffers). This module only stacks them: layer l's output (both
directions concatenated) is layer l+1's input, with dropout between layers in training;
backward runs the stack in reverse.

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
from typing import NamedTuple

from .. import backend
from ..checks import check_dtype, check_shape, check_upstream, require_array
from ..errors import DeviceError, DTypeError, RangeError, ShapeError
from ..functional.distinct_rows import add_row_grads, check_input_rows
from ..functional.dropout import dropout_mask
from ..functional.embedding import RowGrad
from ..functional.gru import gru_backward, gru_forward
from ..functional.gru_inference import gru_infer
from ..functional.lstm import lstm_backward, lstm_forward
from ..functional.lstm_inference import lstm_infer
from ..functional.rnn import check_nonlinearity, rnn_backward, rnn_forward
from ..functional.sequence import check_lengths, make_lengths, reverse_padded
from ..module import Module, Parameter, is_grad_enabled
from . import init

__all__ = ["RNN", "LSTM", "GRU"]


class _StackCache(NamedTuple):
    """What a stack's backward needs: per layer ``(the directions' functional caches, the
    dropout mask after it or None)``; the prepared lengths (or None); the input's steps
    ``T``, the steps run ``T_run`` (trailing all-padding steps are skipped), ``batch``."""

    layers: list
    lengths: object
    T: int
    T_run: int
    batch: int


def _reversed(a, lens):
    """:func:`reverse_padded` for an array only read once more (concatenated, added, copied):
    without padding a reversed view, no copy."""
    return a[::-1] if lens is None else reverse_padded(a, lens)


class _RecurrentBase(Module):
    """What RNN, LSTM and GRU share: parameters, stacking, directions, lengths, dropout.

    A subclass sets ``_gates`` (blocks per weight matrix), ``_state_names`` (the functional
    pair's state arguments: ``("h0",)`` or ``("h0", "c0")``), the pair itself
    (``_forward_fn``, ``_backward_fn``), optionally ``_infer_fn``, the forward without a cache
    that runs under ``no_grad`` (:func:`~minidl.functional.lstm_inference.lstm_infer`, ``gru_infer``),
    and ``_option_defaults``, the pair's keyword options with PyTorch's defaults. Options
    given to ``__init__`` as keywords are set before the parameters are created;
    ``extra_repr`` shows those that differ from their default.
    """

    _gates = 1
    _state_names = ("h0",)
    _option_defaults: dict = {}
    _infer_fn = None

    def __init__(self, input_size, hidden_size, num_layers=1, bias=True, batch_first=False,
                 dropout=0.0, bidirectional=False, **options):
        super().__init__()
        for name, v in (("input_size", input_size), ("hidden_size", hidden_size), ("num_layers", num_layers)):
            if not isinstance(v, int) or isinstance(v, bool) or v < 1:
                raise RangeError(f"{type(self).__name__}: {name} must be a positive int, got {v!r}")
        if not 0.0 <= float(dropout) < 1.0:
            raise RangeError(f"{type(self).__name__}: dropout must be in [0, 1), got {dropout!r}")
        self.input_size = input_size
        self.hidden_size = hidden_size
        self.num_layers = num_layers
        self.bias = bool(bias)
        self.batch_first = bool(batch_first)
        self.dropout = float(dropout)
        self.bidirectional = bool(bidirectional)
        self.num_directions = 2 if bidirectional else 1
        for name, v in options.items():
            setattr(self, name, v)
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

    def _options(self) -> dict:
        """The pair's keyword options, as this layer was built."""
        return {name: getattr(self, name) for name in self._option_defaults}

    def _weights(self, layer, d) -> dict:
        """This layer/direction's parameter arrays by the functional pair's argument names."""
        sfx = self._suffix(layer, d)
        names = ("weight_ih", "weight_hh", "bias_ih", "bias_hh", "weight_res")
        return {n: getattr(self, n + sfx).data for n in names if hasattr(self, n + sfx)}

    # ------------------------------------------------------------------ checks
    def _check_input(self, x):
        name = type(self).__name__
        layout = "(B, T, D)" if self.batch_first else "(T, B, D)"
        require_array(x, "input", name)
        if x.ndim != 3 or x.shape[2] != self.input_size:
            raise ShapeError(f"{name}: input must have shape {layout} with D = {self.input_size}, got {tuple(x.shape)}")
        if x.shape[1 if self.batch_first else 0] == 0:  # PyTorch refuses it too
            raise ShapeError(f"{name}: input must have at least one time step (T ≥ 1), got shape {tuple(x.shape)}")
        check_dtype(x, self.weight_ih_l0.data.dtype, "input", name)
        if backend.device_of(x) != backend.device_of(self.weight_ih_l0.data):
            raise DeviceError(
                f"{name}: input is on {backend.device_of(x)!r} but the parameters are on "
                f"{backend.device_of(self.weight_ih_l0.data)!r}; move one with .to(device)"
            )

    def _initial_states(self, hx, B, xp, dtype):
        LD, H, n = self.num_layers * self.num_directions, self.hidden_size, len(self._state_names)
        name = type(self).__name__
        if hx is None:
            return tuple(xp.zeros((LD, B, H), dtype=dtype) for _ in range(n))
        if (n == 2) != isinstance(hx, (tuple, list)):
            want = "a tuple (h0, c0)" if n == 2 else "one array h0"
            raise DTypeError(f"{name}: hx must be {want}, got {type(hx).__name__}")
        states = tuple(hx) if n == 2 else (hx,)
        if len(states) != n:
            raise ShapeError(f"{name}: hx must be (h0, c0), got {len(states)} arrays")
        for s_name, s in zip(("h0", "c0"), states):
            check_shape(s, (LD, B, H), f"{s_name} (num_layers·num_directions, B, H)", name)
            check_dtype(s, dtype, s_name, name)
        return states

    def _prepare_lengths(self, lengths, T, B, xp):
        """-> (:class:`Lengths` or None, the steps to run): no Lengths when nothing is padded;
        the steps after the longest sequence are padding everywhere and are not run."""
        if lengths is None:
            return None, T
        # checked on the host first (nothing is copied), then built once on the device
        host = check_lengths(lengths, T, B, who=type(self).__name__)
        if B == 0:
            return None, T
        T_run = int(host.max())
        if (host == T_run).all():
            return None, T_run  # no padding left to skip: the plain loop is exact
        return make_lengths(host, T_run, B, xp), T_run

    # ------------------------------------------------------------------ forward / backward
    # --8<-- [start:stack_forward]
    def forward(self, x, hx=None, lengths=None, input_rows=None):
        """``(output, h_n)`` (RNN, GRU) or ``(output, (h_n, c_n))`` (LSTM); see the module doc.

        ``input_rows``: ``(table (V, D), ids)`` when x = table[ids] (ids shaped like x's first
        two axes): the first layer projects each distinct id once (:mod:`~minidl.functional.distinct_rows`)."""
        self._check_input(x)
        xp = backend.get_array_module(x)
        if self.batch_first:
            x = x.transpose(1, 0, 2)
            if isinstance(input_rows, (tuple, list)) and len(input_rows) == 2 and hasattr(input_rows[1], "T"):
                input_rows = (input_rows[0], input_rows[1].T)  # ids (B, T) -> (T, B), as x
        x = xp.ascontiguousarray(x)
        T, B, _ = x.shape
        input_rows = check_input_rows(input_rows, x, type(self).__name__)
        states0 = self._initial_states(hx, B, xp, x.dtype)
        lens, T_run = self._prepare_lengths(lengths, T, B, xp)
        dirs = self.num_directions
        infer = self._infer_fn is not None and not is_grad_enabled()  # no backward follows: keep nothing
        finals = [[None] * (self.num_layers * dirs) for _ in states0]
        layers = []
        layer_in = x[:T_run]
        for layer in range(self.num_layers):
            outs, dir_caches = [], []
            for d in range(dirs):
                idx = layer * dirs + d
                x_d = layer_in if d == 0 else reverse_padded(layer_in, lens)
                rows = {}  # the first layer's x_d is table[ids_d]: the ids go along, reversed alike
                if layer == 0 and input_rows is not None:
                    ids = input_rows[1][:T_run]
                    rows["input_rows"] = (input_rows[0], ids if d == 0 else reverse_padded(ids, lens))
                args = (x_d, *(s[idx] for s in states0))
                kwargs = dict(self._weights(layer, d), lengths=lens, **self._options(), **rows)
                ys, cache = (self._infer_fn(*args, **kwargs), None) if infer else self._forward_fn(*args, **kwargs)
                outs.append(ys[0] if d == 0 else _reversed(ys[0], lens))
                dir_caches.append(cache)
                for k, s in enumerate(ys[1:]):
                    finals[k][idx] = s
            layer_out = outs[0] if dirs == 1 else xp.concatenate(outs, axis=2)
            mask = None
            if self.training and self.dropout > 0 and layer < self.num_layers - 1:
                mask = dropout_mask(layer_out, self.dropout)  # between layers only, like PyTorch
                layer_out = layer_out * mask
            layers.append((dir_caches, mask))
            layer_in = layer_out
        output = layer_in
        if T_run < T:
            output = xp.concatenate([output, xp.zeros((T - T_run,) + output.shape[1:], dtype=x.dtype)])
        if self.batch_first:
            output = output.transpose(1, 0, 2)
        self.save_for_backward(_StackCache(layers, lens, T, T_run, B))
        states_n = tuple(xp.stack(f) for f in finals)
        return (output, states_n) if len(states_n) == 2 else (output, states_n[0])
    # --8<-- [end:stack_forward]

    # --8<-- [start:stack_backward]
    def backward(self, d_output=None, *d_states_n):
        """Gradients of x and of the initial state(s): ``(dx, dh0)`` or ``(dx, dh0, dc0)``.

        ``d_output`` has the output's shape, each of ``d_states_n`` (L·dirs, B, H); any may
        be None (zeros). Adds into every parameter's ``grad``. When the forward took
        ``input_rows`` and projected per word, dx is ∂L/∂table instead, summed per word, a
        :class:`~minidl.functional.embedding.RowGrad` for the embedding's backward.
        """
        cache = self.saved()
        lens, T, T_run = cache.lengths, cache.T, cache.T_run
        d_states_n = self._check_upstream(cache, d_output, d_states_n)
        H, dirs = self.hidden_size, self.num_directions
        xp = backend.get_array_module(self.weight_ih_l0.data)
        d_layer = d_output
        if d_layer is not None:
            if self.batch_first:
                d_layer = d_layer.transpose(1, 0, 2)
            d_layer = d_layer[:T_run]
        d_states0 = tuple(xp.zeros((self.num_layers * dirs, cache.batch, H), dtype=self.weight_ih_l0.data.dtype)
                          for _ in self._state_names)
        for layer in range(self.num_layers - 1, -1, -1):
            dir_caches, mask = cache.layers[layer]
            if d_layer is not None and mask is not None:
                d_layer = d_layer * mask
            dx = None
            for d in range(dirs):
                idx = layer * dirs + d
                d_o = None
                if d_layer is not None:
                    d_o = d_layer if dirs == 1 else d_layer[:, :, d * H : (d + 1) * H]
                    if d == 1:
                        d_o = _reversed(d_o, lens)  # the pair copies d_out into its own buffer
                grads = self._backward_fn((d_o,) + tuple(None if s is None else s[idx] for s in d_states_n),
                                          dir_caches[d])
                dx_d = grads.pop("x")
                for k, s_name in enumerate(self._state_names):
                    d_states0[k][idx] = grads.pop(s_name)
                sfx = self._suffix(layer, d)
                self.accumulate_grads({n + sfx: g for n, g in grads.items()})
                if isinstance(dx_d, RowGrad):  # the first layer's, per word: no time axis
                    dx = dx_d if dx is None else add_row_grads(dx, dx_d)
                    continue
                if d == 1:
                    dx_d = _reversed(dx_d, lens)
                dx = dx_d if dx is None else xp.add(dx, dx_d, out=dx)  # dx: a fresh array of the pair
            d_layer = dx
        dx = d_layer
        if isinstance(dx, RowGrad):
            return (dx,) + d_states0
        if T_run < T:
            dx = xp.concatenate([dx, xp.zeros((T - T_run,) + dx.shape[1:], dtype=dx.dtype)])
        if self.batch_first:
            dx = dx.transpose(1, 0, 2)
        return (dx,) + d_states0
    # --8<-- [end:stack_backward]

    def _check_upstream(self, cache, d_output, d_states_n):
        """Each upstream gradient has its output's shape; missing state gradients are None."""
        name, n = type(self).__name__, len(self._state_names)
        if len(d_states_n) > n:
            raise TypeError(f"{name}.backward takes d_output and {n} state gradient(s), got {len(d_states_n)}")
        B, LD, H = cache.batch, self.num_layers * self.num_directions, self.hidden_size
        out_shape = (cache.T, B, self.num_directions * H)
        if d_output is not None:
            check_upstream(d_output, (out_shape[1], out_shape[0], out_shape[2]) if self.batch_first else out_shape,
                           "d_output", name)
        for s_name, g in zip(("d_h_n", "d_c_n"), d_states_n):
            if g is not None:
                check_upstream(g, (LD, B, H), s_name, name)
        return tuple(d_states_n) + (None,) * (n - len(d_states_n))

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
        return s + "".join(f", {k}={v!r}" for k, v in self._options().items() if v != self._option_defaults[k])


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
    _state_names = ("h0", "c0")
    _forward_fn = staticmethod(lstm_forward)
    _backward_fn = staticmethod(lstm_backward)
    _infer_fn = staticmethod(lstm_infer)
    _option_defaults = {"residual": False}

    def __init__(self, input_size, hidden_size, num_layers=1, bias=True, batch_first=False,
                 dropout=0.0, bidirectional=False, residual=False):
        super().__init__(input_size, hidden_size, num_layers, bias, batch_first, dropout, bidirectional,
                         residual=bool(residual))

    def _extra_parameters(self, layer, d, d_in, k):
        if self.residual and d_in != self.hidden_size:
            setattr(self, "weight_res" + self._suffix(layer, d),
                    Parameter(init.uniform((self.hidden_size, d_in), k)))


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
    _forward_fn = staticmethod(rnn_forward)
    _backward_fn = staticmethod(rnn_backward)
    _option_defaults = {"nonlinearity": "tanh"}

    def __init__(self, input_size, hidden_size, num_layers=1, nonlinearity="tanh", bias=True,
                 batch_first=False, dropout=0.0, bidirectional=False):
        check_nonlinearity(nonlinearity)
        super().__init__(input_size, hidden_size, num_layers, bias, batch_first, dropout, bidirectional,
                         nonlinearity=nonlinearity)


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
    _forward_fn = staticmethod(gru_forward)
    _backward_fn = staticmethod(gru_backward)
    _infer_fn = staticmethod(gru_infer)
    _option_defaults = {"reset_after": True}

    def __init__(self, input_size, hidden_size, num_layers=1, bias=True, batch_first=False,
                 dropout=0.0, bidirectional=False, reset_after=True):
        super().__init__(input_size, hidden_size, num_layers, bias, batch_first, dropout, bidirectional,
                         reset_after=bool(reset_after))
