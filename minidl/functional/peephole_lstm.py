"""One step of report E's peephole LSTM: every gate also reads the previous cell state.

Report E writes its LSTM with the gates reading ``[c_t, h_t, x_{t+1}]``, i.e. a full
matrix on the previous cell state c beside those on h and x. In PyTorch's layout (gate
blocks i, f, g, o)::

    z = x W_ihᵀ + b_ih + h W_hhᵀ + b_hh + c W_chᵀ        z: (B, 4H) = [z_i, z_f, z_g, z_o]
    i = σ(z_i)   f = σ(z_f)   g = tanh(z_g)   o = σ(z_o)
    c' = f ⊙ c + i ⊙ g
    h' = o ⊙ tanh(c')

Shapes: x (B, D), h and c (B, H), W_ih (4H, D), W_hh (4H, H), W_ch (4H, H), biases (4H,).
(Gers & Schmidhuber's original peepholes are *diagonal* — p_i ⊙ c, p_f ⊙ c, p_o ⊙ c' —
and let o read the new state c'; report E's full matrix on the old state is the form its
text gives, and the one built here. Report E's trained models themselves use the plain
library LSTM, as minidl's report E example does.)

**Backward.** It is the plain LSTM's backward (see :mod:`minidl.functional.lstm`) with
one more path: c reaches z through W_ch. With τ = tanh(c') and ``dh' = ∂L/∂h'``,
``dc'_in = ∂L/∂c'`` from above:

    dc' = dc'_in + dh' ⊙ o ⊙ (1 − τ²)
    dz_i = dc' ⊙ g ⊙ i(1−i)    dz_f = dc' ⊙ c ⊙ f(1−f)
    dz_g = dc' ⊙ i ⊙ (1−g²)    dz_o = dh' ⊙ τ ⊙ o(1−o)
    dc  = dc' ⊙ f + dz W_ch          ← the peephole's extra term
    dx = dz W_ih    dh = dz W_hh    dW_ih = dzᵀ x   dW_hh = dzᵀ h   dW_ch = dzᵀ c
    db_ih = db_hh = Σ_batch dz

It is written plainly, for reading: a teaching cell, stepped in a Python loop.
"""

from __future__ import annotations

from typing import NamedTuple

from ..backend import get_array_module
from .activations import sigmoid

__all__ = ["PeepholeCache", "peephole_lstm_cell_forward", "peephole_lstm_cell_backward"]


class PeepholeCache(NamedTuple):
    """What the backward needs: the step's inputs, weights and gate values."""

    x: object
    h: object
    c: object
    weight_ih: object
    weight_hh: object
    weight_ch: object
    has_bias: bool
    i: object
    f: object
    g: object
    o: object
    tanh_c_new: object


# --8<-- [start:peephole_step]
def peephole_lstm_cell_forward(x, h, c, weight_ih, weight_hh, weight_ch, bias_ih=None, bias_hh=None):
    """One step. -> ``((h', c'), cache)``, h' and c' (B, H)."""
    xp = get_array_module(x)
    z = x @ weight_ih.T + h @ weight_hh.T + c @ weight_ch.T
    if bias_ih is not None:
        z = z + bias_ih + bias_hh
    z_i, z_f, z_g, z_o = xp.split(z, 4, axis=1)
    i, f, g, o = sigmoid(z_i), sigmoid(z_f), xp.tanh(z_g), sigmoid(z_o)
    c_new = f * c + i * g
    tanh_c_new = xp.tanh(c_new)
    h_new = o * tanh_c_new
    cache = PeepholeCache(x, h, c, weight_ih, weight_hh, weight_ch, bias_ih is not None, i, f, g, o, tanh_c_new)
    return (h_new, c_new), cache


def peephole_lstm_cell_backward(d_outputs, cache: PeepholeCache) -> dict:
    """``d_outputs = (dh', dc')`` (either may be None) -> gradients keyed by argument name."""
    x, h, c, W_ih, W_hh, W_ch, has_bias, i, f, g, o, tau = cache
    xp = get_array_module(x)
    dh_new, dc_in = d_outputs
    dh_new = xp.zeros_like(h) if dh_new is None else dh_new
    dc_new = dh_new * o * (1 - tau * tau) + (0 if dc_in is None else dc_in)
    dz = xp.concatenate([dc_new * g * i * (1 - i), dc_new * c * f * (1 - f),
                         dc_new * i * (1 - g * g), dh_new * tau * o * (1 - o)], axis=1)
    grads = {"x": dz @ W_ih, "h": dz @ W_hh, "c": dc_new * f + dz @ W_ch,
             "weight_ih": dz.T @ x, "weight_hh": dz.T @ h, "weight_ch": dz.T @ c}
    if has_bias:
        grads["bias_ih"] = grads["bias_hh"] = dz.sum(axis=0)
    return grads
# --8<-- [end:peephole_step]
