"""Solution of ``gru_step_backward`` (reset after the matrix, PyTorch's GRU). Write
h' = n + z ⊙ (h − n): z and n get their gradients from the product rule, r only through
n, where it multiplies ĝ = h W_hnᵀ + b_hn. The hidden side's upstream is the input side's
with one change, in block n: dĝ = dz_n ⊙ r, because r sits between n and the matrix."""

import numpy as np


def gru_step_backward(dh_new, x, h, weight_ih, weight_hh, r, z, n, g_hat):
    """dh_new: (B, H), x: (B, D), h: (B, H), weight_ih: (3H, D), weight_hh: (3H, H),
    gates r, z, n: (B, H), g_hat = h W_hnᵀ + b_hn: (B, H)
    -> (dx (B, D), dh (B, H), dW_ih (3H, D), dW_hh (3H, H), db_ih (3H,), db_hh (3H,))."""
    dz_n = dh_new * (1 - z) * (1 - n * n)  # h' = (1 − z) ⊙ n + z ⊙ h;  tanh' = 1 − n²
    dz_z = dh_new * (h - n) * z * (1 - z)  # ∂h'/∂z = h − n;  σ' = z(1 − z)
    dz_r = dz_n * g_hat * r * (1 - r)  # n's pre-activation holds r ⊙ ĝ
    d_in = np.concatenate([dz_r, dz_z, dz_n], axis=1)  # ∂L/∂(x W_ihᵀ + b_ih): blocks r, z, n
    d_hid = np.concatenate([dz_r, dz_z, dz_n * r], axis=1)  # ∂L/∂(h W_hhᵀ + b_hh): block n times r
    dh = dh_new * z + d_hid @ weight_hh  # directly, and through all three hidden-side blocks
    return d_in @ weight_ih, dh, d_in.T @ x, d_hid.T @ h, d_in.sum(axis=0), d_hid.sum(axis=0)
