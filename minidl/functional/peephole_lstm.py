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

**As a plain LSTM step.** The gates read ``[h, c]`` where the plain LSTM's read h:
``h W_hhᵀ + c W_chᵀ = [h, c] [W_hh, W_ch]ᵀ``. So the step *is* the plain textbook step
(:func:`~minidl.functional.lstm.lstm_step_reference`) with h replaced by ``[h, c]`` (B, 2H)
and W_hh by ``[W_hh, W_ch]`` (4H, 2H), and its backward is the plain backward with the
gradient of ``[h, c]`` split in two: ``dh`` is its first H columns, and its last H columns
are the extra ``dz W_ch`` that joins ``dc' ⊙ f`` in ``dc``; likewise ``dW_hh`` and ``dW_ch``
are the two halves of the plain step's ``dzᵀ [h, c]``. A teaching cell, stepped in a
Python loop: the concatenations cost a copy per step, which it does not mind.
"""

from __future__ import annotations

from typing import NamedTuple

from ..backend import get_array_module
from .lstm import LSTMStepCache, lstm_step_reference, lstm_step_reference_backward

__all__ = ["PeepholeCache", "peephole_lstm_cell_forward", "peephole_lstm_cell_backward"]


class PeepholeCache(NamedTuple):
    """What the backward needs: the plain step's cache (run on ``[h, c]``) and the old cell
    state c (B, H), whose shape the upstream gradients have."""

    step: LSTMStepCache
    c: object


# --8<-- [start:peephole_step]
def peephole_lstm_cell_forward(x, h, c, weight_ih, weight_hh, weight_ch, bias_ih=None, bias_hh=None):
    """One step. -> ``((h', c'), cache)``, h' and c' (B, H): the plain LSTM step whose
    recurrent input is ``[h, c]`` (B, 2H) and recurrent weight ``[W_hh, W_ch]`` (4H, 2H)."""
    xp = get_array_module(x)
    hc, weight_hc = xp.concatenate([h, c], axis=1), xp.concatenate([weight_hh, weight_ch], axis=1)
    (h_new, c_new), step = lstm_step_reference(x, hc, c, weight_ih, weight_hc, bias_ih, bias_hh)
    return (h_new, c_new), PeepholeCache(step, c)


def peephole_lstm_cell_backward(d_outputs, cache: PeepholeCache) -> dict:
    """``d_outputs = (dh', dc')`` (either may be None) -> gradients keyed by argument name."""
    xp = get_array_module(cache.c)
    dh_new, dc_new = (xp.zeros_like(cache.c) if d is None else d for d in d_outputs)
    grads = lstm_step_reference_backward((dh_new, dc_new), cache.step)
    H = cache.c.shape[1]
    d_hc, d_weight_hc = grads.pop("h"), grads.pop("weight_hh")  # the [h, c] halves, split back
    grads["h"], grads["c"] = d_hc[:, :H], grads["c"] + d_hc[:, H:]  # dc = dc' ⊙ f + dz W_ch
    grads["weight_hh"], grads["weight_ch"] = d_weight_hc[:, :H], d_weight_hc[:, H:]
    return grads
# --8<-- [end:peephole_step]
