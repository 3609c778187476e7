"""The GRU forward when no backward follows: evaluation and inference.

:func:`~.gru.gru_forward` keeps, for its backward, every step's gates (T, 3, B, H) and the
hidden side of every step's n (``ĝ``: (T, 3, B, H) reset after, ``r ⊙ h`` (T, B, H) reset
before), and it projects the inputs of all T steps first. This forward runs the same steps
(:func:`~.gru.gru_rz_gates`, :func:`~.gru.gru_new_state`, in the same order on the same
numbers: equal outputs to the last bit) and keeps only ``h_0..h_T``, the layer's output: the
inputs are projected a block of about 64K numbers at a time, the gates computed in place
on that block, and the hidden side lives in one step's buffer. Why it pays, and the LSTM's
measurements: :mod:`.lstm_inference`.
"""

from __future__ import annotations

from .. import backend
from . import sequence as seq
from .distinct_rows import project_blocks
from .gate_layout import gru_pack
from .gru import gru_new_state, gru_rz_gates

__all__ = ["gru_infer"]


# --8<-- [start:gru_infer]
def gru_infer(x, h0, weight_ih, weight_hh, bias_ih=None, bias_hh=None, *, reset_after=True, lengths=None,
              input_rows=None):
    """:func:`~.gru.gru_forward`'s outputs without its cache: ``(out, h_n)``.

    Arguments as :func:`~.gru.gru_forward`: x (T, B, D), h0 (B, H), weights (3H, D), (3H, H),
    biases (3H,) or None, reset_after, lengths, input_rows. out (T, B, H) (zero at padded
    steps), h_n (B, H) each sequence's last real state.
    """
    weights = {"weight_ih": weight_ih, "weight_hh": weight_hh, "bias_ih": bias_ih, "bias_hh": bias_hh}
    H = seq.check_sequence_args(x, {"h0": h0}, weights, 3, "gru_infer")
    xp = backend.get_array_module(x)
    T, B, D = x.shape
    lengths = seq.as_lengths(lengths, x)
    p = gru_pack(weight_ih, weight_hh, bias_ih, bias_hh, reset_after)
    Hs = seq.state_buffer(T, h0)  # the output: every h_t is kept
    WhT = seq.gate_blocks(p.WhT, 3 if reset_after else 2)
    gh = xp.empty((WhT.shape[0], B, H), dtype=x.dtype)  # this step's h W_hhᵀ, gate by gate
    rh = None if reset_after else xp.empty((B, H), dtype=x.dtype)  # r ⊙ h_{t−1}
    with backend.errstate(xp, over="ignore"):  # e^{−u} = inf is right there (see gru_rz_gates)
        for s, A in project_blocks(x, p.WxT, p.b, 3, input_rows, "gru_infer"):  # A: (steps, 3, B, H)
            for t in range(s, s + A.shape[0]):
                a = A[t - s]
                xp.matmul(Hs[t], WhT, out=gh)
                if reset_after:
                    if p.b_hn is not None:
                        gh[2] += p.b_hn
                    gru_rz_gates(a, gh[:2])
                    gru_new_state(a[2], a[0] * gh[2], Hs[t], a[1], Hs[t + 1])
                else:
                    gru_rz_gates(a, gh)
                    xp.multiply(a[0], Hs[t], out=rh)
                    gru_new_state(a[2], rh @ p.WhnT, Hs[t], a[1], Hs[t + 1])
    return seq.finish_forward(Hs, lengths)
# --8<-- [end:gru_infer]
