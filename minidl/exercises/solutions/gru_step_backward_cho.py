"""Solution of ``gru_step_backward_cho`` (reset before the matrix, Cho et al.'s GRU). Here
n's hidden part is (r ⊙ h) W_hnᵀ: the matrix sees r ⊙ h, so its gradient d(r ⊙ h) =
dz_n W_hn is shared out by the product rule, to r (times h) and to h (times r). h then
reaches the loss three ways: directly (z ⊙ h), through r ⊙ h, and through the gates r, z."""

import numpy as np


def gru_step_backward_cho(dh_new, x, h, weight_ih, weight_hh, r, z, n):
    """dh_new: (B, H), x: (B, D), h: (B, H), weight_ih: (3H, D), weight_hh: (3H, H),
    gates r, z, n: (B, H) -> (dx (B, D), dh (B, H), dW_ih (3H, D), dW_hh (3H, H), db_ih (3H,), db_hh (3H,))."""
    H = h.shape[1]
    W_hr, W_hz, W_hn = weight_hh[:H], weight_hh[H:2 * H], weight_hh[2 * H:]
    dz_n = dh_new * (1 - z) * (1 - n * n)  # as in the reset-after form
    dz_z = dh_new * (h - n) * z * (1 - z)
    d_rh = dz_n @ W_hn  # ∂L/∂(r ⊙ h): (B, H)
    dz_r = d_rh * h * r * (1 - r)  # r's share of the product r ⊙ h, times σ'
    d = np.concatenate([dz_r, dz_z, dz_n], axis=1)  # every block's pre-activation: r, z, n
    dh = dh_new * z + d_rh * r + dz_r @ W_hr + dz_z @ W_hz  # directly, through r ⊙ h, through r and z
    dW_hh = np.concatenate([dz_r.T @ h, dz_z.T @ h, dz_n.T @ (r * h)], axis=0)  # W_hn multiplies r ⊙ h
    db = d.sum(axis=0)  # b_hn is added outside r here: both biases get the same gradient
    return d @ weight_ih, dh, d.T @ x, dW_hh, db, db.copy()
