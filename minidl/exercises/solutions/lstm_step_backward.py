"""Solution of ``lstm_step_backward``: c' reaches the loss twice, directly (dc_new) and
through h' = o ⊙ tanh(c'), so its gradient is collected first; then each gate's
pre-activation gets its product rule times its nonlinearity's slope, and the four blocks,
in PyTorch's order i, f, g, o, go through the two linear layers like one."""

import numpy as np


def lstm_step_backward(dh_new, dc_new, x, h, c, weight_ih, weight_hh, i, f, g, o, c_new):
    """dh_new, dc_new: (B, H), x: (B, D), h, c: (B, H), weight_ih: (4H, D), weight_hh: (4H, H),
    gates i, f, g, o: (B, H) (after their nonlinearities), c_new: (B, H)
    -> (dx (B, D), dh (B, H), dc (B, H), dW_ih (4H, D), dW_hh (4H, H), db_ih (4H,), db_hh (4H,))."""
    tc = np.tanh(c_new)
    dc_total = dc_new + dh_new * o * (1 - tc * tc)  # ∂L/∂c': from above, and through h'
    dz_i = dc_total * g * i * (1 - i)  # c' = f ⊙ c + i ⊙ g;  σ' = σ(1 − σ)
    dz_f = dc_total * c * f * (1 - f)  # the forget gate multiplies the OLD cell c
    dz_g = dc_total * i * (1 - g * g)  # tanh' = 1 − tanh²
    dz_o = dh_new * tc * o * (1 - o)  # h' = o ⊙ tanh(c')
    dz = np.concatenate([dz_i, dz_f, dz_g, dz_o], axis=1)  # (B, 4H), blocks i, f, g, o
    db = dz.sum(axis=0)  # both biases enter z as a sum
    return dz @ weight_ih, dz @ weight_hh, dc_total * f, dz.T @ x, dz.T @ h, db, db.copy()
