"""Exercise: the backward pass of one GRU step, Cho et al.'s form (reset BEFORE the
matrix, ``reset_after=False``) (chapter: gru.md).

Forward (given below): shapes and gate blocks r, z, n as in ``gru_step_backward``; only
n differs, the reset gate now acts on h before the matrix:

    r  = σ(x W_irᵀ + b_ir + h W_hrᵀ + b_hr)
    z  = σ(x W_izᵀ + b_iz + h W_hzᵀ + b_hz)
    n  = tanh(x W_inᵀ + b_in + (r ⊙ h) W_hnᵀ + b_hn)
    h' = (1 − z) ⊙ n + z ⊙ h

Given dh_new = ∂L/∂h': (B, H) and the forward's r, z, n, derive and return

    dx: (B, D),  dh: (B, H),  dW_ih: (3H, D),  dW_hh: (3H, H),  db_ih: (3H,),  db_hh: (3H,)
    (the weight and bias gradients in blocks r, z, n)

Hint: W_hn multiplies r ⊙ h, not h. Find ∂L/∂(r ⊙ h) first and share it out by the
product rule. h reaches h' by three paths. The grader names the gate blocks that are wrong.

Check it:  python -m minidl.exercises check gru_step_backward_cho
"""

import numpy as np


def gru_step_forward_cho(x, h, weight_ih, weight_hh, bias_ih, bias_hh):
    """Given: one step -> (h_new, (r, z, n)), each (B, H)."""
    H = h.shape[1]
    a_r, a_z, a_n = np.split(x @ weight_ih.T + bias_ih, 3, axis=1)  # input side, blocks r, z, n
    b_hr, b_hz, b_hn = np.split(bias_hh, 3)
    r = 1 / (1 + np.exp(-(a_r + h @ weight_hh[:H].T + b_hr)))
    z = 1 / (1 + np.exp(-(a_z + h @ weight_hh[H:2 * H].T + b_hz)))
    n = np.tanh(a_n + (r * h) @ weight_hh[2 * H:].T + b_hn)
    return (1 - z) * n + z * h, (r, z, n)


def gru_step_backward_cho(dh_new, x, h, weight_ih, weight_hh, r, z, n):
    """dh_new: (B, H), x: (B, D), h: (B, H), weight_ih: (3H, D), weight_hh: (3H, H),
    gates r, z, n: (B, H) -> (dx (B, D), dh (B, H), dW_ih (3H, D), dW_hh (3H, H), db_ih (3H,), db_hh (3H,))."""
    raise NotImplementedError("dz_n and dz_z from h' = (1 − z) ⊙ n + z ⊙ h, then ∂L/∂(r ⊙ h) = dz_n W_hn")
