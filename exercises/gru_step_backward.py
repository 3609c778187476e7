"""Exercise: the backward pass of one GRU step, PyTorch's form (reset AFTER the matrix)
(chapter: gru.md).

Forward (given below), PyTorch's ``nn.GRUCell``: a batch x: (B, D), the previous state
h: (B, H), weights weight_ih: (3H, D), weight_hh: (3H, H), biases (3H,), whose three row
blocks of H are the gates in the order r, z, n:

    r  = σ(x W_irᵀ + b_ir + h W_hrᵀ + b_hr)
    z  = σ(x W_izᵀ + b_iz + h W_hzᵀ + b_hz)
    ĝ  = h W_hnᵀ + b_hn                                 (g_hat: n's hidden part)
    n  = tanh(x W_inᵀ + b_in + r ⊙ ĝ)
    h' = (1 − z) ⊙ n + z ⊙ h

Given dh_new = ∂L/∂h': (B, H) and the forward's r, z, n and g_hat, derive and return

    dx: (B, D),  dh: (B, H),  dW_ih: (3H, D),  dW_hh: (3H, H),  db_ih: (3H,),  db_hh: (3H,)
    (the weight and bias gradients in blocks r, z, n)

Hint: the input side x W_ihᵀ + b_ih and the hidden side h W_hhᵀ + b_hh have the same
gradient in blocks r and z, but not in block n. h reaches h' directly too. The grader
names the gate blocks that are wrong.

Check it:  python -m minidl.exercises check gru_step_backward
"""

import numpy as np


def gru_step_forward(x, h, weight_ih, weight_hh, bias_ih, bias_hh):
    """Given: one step -> (h_new, (r, z, n, g_hat)), each (B, H)."""
    a_r, a_z, a_n = np.split(x @ weight_ih.T + bias_ih, 3, axis=1)  # input side, blocks r, z, n
    u_r, u_z, g_hat = np.split(h @ weight_hh.T + bias_hh, 3, axis=1)  # hidden side
    r, z = 1 / (1 + np.exp(-(a_r + u_r))), 1 / (1 + np.exp(-(a_z + u_z)))
    n = np.tanh(a_n + r * g_hat)
    return (1 - z) * n + z * h, (r, z, n, g_hat)


def gru_step_backward(dh_new, x, h, weight_ih, weight_hh, r, z, n, g_hat):
    """dh_new: (B, H), x: (B, D), h: (B, H), weight_ih: (3H, D), weight_hh: (3H, H),
    gates r, z, n: (B, H), g_hat = h W_hnᵀ + b_hn: (B, H)
    -> (dx (B, D), dh (B, H), dW_ih (3H, D), dW_hh (3H, H), db_ih (3H,), db_hh (3H,))."""
    raise NotImplementedError("dz_n and dz_z from h' = (1 − z) ⊙ n + z ⊙ h, then dz_r through r ⊙ ĝ")
