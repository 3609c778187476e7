"""The Elman RNN: one step in the textbook's form, the fast step, and the sequence layer,
forward and hand-derived backward.

Equations (PyTorch's ``nn.RNN``/``nn.RNNCell``)::

    z  = x W_ihᵀ + b_ih + h W_hhᵀ + b_hh        z: (B, H)
    h' = φ(z)          φ = tanh  or  relu

Shapes: x (B, D), h (B, H), W_ih (H, D), W_hh (H, H), b_ih and b_hh (H,).

Backward, given ``dh' = ∂L/∂h'``: the derivative of φ is read off its output,
``tanh'(z) = 1 − h'²`` and ``relu'(z) = 1[h' > 0]``, so

    dz = dh' ⊙ φ'            dx = dz W_ih     dh = dz W_hh
    dW_ih = dzᵀ x            dW_hh = dzᵀ h    db_ih = db_hh = Σ_batch dz

:func:`rnn_step_reference` is exactly this. ``φ'`` depends only on the forward, so the
sequence layer computes it for every step at once (:func:`rnn_local_grad`) and its reverse
loop is one product and one GEMM per step. The cell pair :func:`rnn_cell_forward` /
:func:`rnn_cell_backward` is the sequence pair for one step.
"""

from __future__ import annotations

from typing import NamedTuple

from .. import backend
from ..errors import RangeError
from . import sequence as seq
from .distinct_rows import input_side_grads, project_steps

__all__ = [
    "NONLINEARITIES", "check_nonlinearity", "RNNCache", "RNNStepCache", "rnn_step_reference",
    "rnn_step_reference_backward", "rnn_activation", "rnn_local_grad", "rnn_forward", "rnn_backward",
    "rnn_cell_forward", "rnn_cell_backward",
]

NONLINEARITIES = ("tanh", "relu")


def check_nonlinearity(nonlinearity: str, who: str = "RNN") -> None:
    """Raise :class:`~minidl.errors.RangeError` unless ``nonlinearity`` is ``"tanh"`` or ``"relu"``."""
    if nonlinearity not in NONLINEARITIES:
        raise RangeError(f"{who}: nonlinearity must be 'tanh' or 'relu', got {nonlinearity!r}")


# --8<-- [start:rnn_reference]
class RNNStepCache(NamedTuple):
    """What the textbook step keeps for its backward: its inputs and its output h' (B, H)."""
    x: object; h: object; weight_ih: object; weight_hh: object; has_bias: bool; nonlinearity: str  # noqa: E702
    h_new: object


def rnn_step_reference(x, h, weight_ih, weight_hh, bias_ih=None, bias_hh=None, nonlinearity="tanh"):
    """One step exactly as the equations above -> ``(h', cache)``; for reading and tests.
    x (B, D), h (B, H), weight_ih (H, D), weight_hh (H, H), biases (H,); h' (B, H)."""
    xp = backend.get_array_module(x)
    z = x @ weight_ih.T + h @ weight_hh.T
    if bias_ih is not None:
        z = z + bias_ih + bias_hh
    h_new = xp.tanh(z) if nonlinearity == "tanh" else xp.maximum(z, 0)
    return h_new, RNNStepCache(x, h, weight_ih, weight_hh, bias_ih is not None, nonlinearity, h_new)


def rnn_step_reference_backward(dh_new, cache: RNNStepCache) -> dict:
    """dh' (B, H) -> gradients keyed like :func:`rnn_step_reference`'s arguments."""
    h_new = cache.h_new  # both derivatives read the output: tanh' = 1 − h'², relu' = [h' > 0]
    dz = dh_new * (1 - h_new * h_new) if cache.nonlinearity == "tanh" else dh_new * (h_new > 0)
    grads = {"x": dz @ cache.weight_ih, "h": dz @ cache.weight_hh, "weight_ih": dz.T @ cache.x,
             "weight_hh": dz.T @ cache.h}
    if cache.has_bias:
        grads["bias_ih"] = grads["bias_hh"] = dz.sum(axis=0)
    return grads
# --8<-- [end:rnn_reference]


# --8<-- [start:rnn_activation]
@backend.fuse
def _tanh_step(a, u, h):
    """(B, H) each: h = tanh(a + u); a is overwritten with a + u."""
    xp = backend.get_array_module(a)
    a += u
    xp.tanh(a, out=h)


@backend.fuse
def _relu_step(a, u, h):
    """(B, H) each: h = max(a + u, 0); a is overwritten with a + u."""
    xp = backend.get_array_module(a)
    a += u
    xp.maximum(a, 0, out=h)


def rnn_activation(a, u, h, nonlinearity="tanh"):
    """h' = φ(a + u) into h: a (B, H) the input side ``x W_ihᵀ + b`` (overwritten), u the
    hidden side ``h W_hhᵀ``; one fused kernel on a GPU."""
    (_tanh_step if nonlinearity == "tanh" else _relu_step)(a, u, h)


@backend.fuse
def _tanh_slope(h):
    return 1.0 - h * h


@backend.fuse
def _relu_slope(h):
    return (h > 0).astype(h.dtype)


def rnn_local_grad(h, nonlinearity="tanh"):
    """φ'(z) from φ's output h (any shape): ``1 − h²`` (tanh) or ``1[h > 0]`` (relu)."""
    return (_tanh_slope if nonlinearity == "tanh" else _relu_slope)(h)
# --8<-- [end:rnn_activation]


class RNNCache(NamedTuple):
    """What :func:`rnn_backward` needs: ``x`` (T, B, D), ``rows`` its
    :class:`~.distinct_rows.DistinctRows` (or None), the weights as given, ``hs``
    (T + 1, B, H) h_0..h_T, ``nonlinearity``, ``lengths`` (or None) and ``has_bias``."""

    x: object
    rows: object
    weight_ih: object
    weight_hh: object
    hs: object
    nonlinearity: str
    lengths: object
    has_bias: bool


# --8<-- [start:rnn_sequence]
def rnn_forward(x, h0, weight_ih, weight_hh, bias_ih=None, bias_hh=None, *, nonlinearity="tanh",
                lengths=None, input_rows=None):
    """A whole sequence through one Elman RNN layer, one direction.

    x (T, B, D), T ≥ 1, h0 (B, H), weight_ih (H, D), weight_hh (H, H), biases (H,) or None,
    lengths ints (B,) or None -> ``((out (T, B, H), h_n (B, H)), cache)``:
    h_t = φ(x_t W_ihᵀ + b_ih + h_{t-1} W_hhᵀ + b_hh), out zero at padded steps. ``input_rows``
    ``(table, ids)`` when x = table[ids]: the input products run per distinct id (:mod:`.distinct_rows`;
    the backward's ``x`` is then ∂L/∂table, a :class:`~.embedding.RowGrad`).
    """
    check_nonlinearity(nonlinearity, "rnn_forward")
    weights = {"weight_ih": weight_ih, "weight_hh": weight_hh, "bias_ih": bias_ih, "bias_hh": bias_hh}
    seq.check_sequence_args(x, {"h0": h0}, weights, 1, "rnn_forward")
    T = x.shape[0]
    lengths = seq.as_lengths(lengths, x)
    b = None if bias_ih is None else bias_ih + bias_hh
    A, rows = project_steps(x, weight_ih.T, b, None, input_rows, "rnn_forward")  # one GEMM
    WhT = weight_hh.T.copy()
    Hs = seq.state_buffer(T, h0)
    for t in range(T):
        rnn_activation(A[t], Hs[t] @ WhT, Hs[t + 1], nonlinearity)  # the one GEMM per step
    out, h_n = seq.finish_forward(Hs, lengths)
    return (out, h_n), RNNCache(x, rows, weight_ih, weight_hh, Hs, nonlinearity, lengths, bias_ih is not None)


def rnn_backward(dy, cache: RNNCache) -> dict:
    """dy = (d_out (T, B, H), d_h_n (B, H)), either None -> gradients ``x``, ``h0``,
    ``weight_ih``, ``weight_hh``, ``bias_ih`` and ``bias_hh`` (one array: they enter as a sum)."""
    x, W_ih, W_hh, Hs, lengths = cache.x, cache.weight_ih, cache.weight_hh, cache.hs, cache.lengths
    xp = backend.get_array_module(x)
    T, B, D = x.shape
    H = Hs.shape[2]
    dHs = seq.hidden_upstream(dy, lengths, Hs, "rnn_backward")
    Dphi = rnn_local_grad(Hs[1:], cache.nonlinearity)  # φ' of every step at once
    dZ = xp.empty((T, B, H), dtype=Hs.dtype)

    def step(t, j):
        xp.multiply(dHs[t], Dphi[t], out=dZ[t])
        return dZ[t] @ W_hh  # the one GEMM per step

    dh0 = seq.backward_through_time(dHs, step)
    dZ2 = dZ.reshape(T * B, H)
    dx, dW_ih, db = input_side_grads(dZ2, x, W_ih, cache.rows, cache.has_bias)  # dx: a RowGrad when rows
    grads = {"x": dx, "h0": dh0, "weight_ih": dW_ih, "weight_hh": dZ2.T @ Hs[:-1].reshape(T * B, H)}
    if cache.has_bias:
        grads["bias_ih"] = grads["bias_hh"] = db
    return grads
# --8<-- [end:rnn_sequence]


def rnn_cell_forward(x, h, weight_ih, weight_hh, bias_ih=None, bias_hh=None, *, nonlinearity="tanh"):
    """One step, as ``torch.nn.RNNCell``: the sequence layer run for T = 1.
    x (B, D), h (B, H) -> ``(h' (B, H), cache)``."""
    (_, h_new), cache = rnn_forward(x[None], h, weight_ih, weight_hh, bias_ih, bias_hh, nonlinearity=nonlinearity)
    return h_new, cache


def rnn_cell_backward(dh_new, cache: RNNCache) -> dict:
    """dh' (B, H) or None -> gradients ``x``, ``h``, ``weight_ih``, ``weight_hh``, ``bias_ih``, ``bias_hh``."""
    return seq.step_grads(rnn_backward((None, dh_new), cache), ("h",))
