"""Solution of ``rnn_bptt_backward``: the step's backward run from t = T − 1 down to 0.
Two things make it *through time*: ∂L/∂h_t is what the output at t receives plus what
step t + 1 sends back, and the weights, shared by every step, add up their gradients."""

import numpy as np


def rnn_bptt_backward(d_out, d_h_n, x, hs, weight_ih, weight_hh):
    """d_out: (T, B, H), d_h_n: (B, H), x: (T, B, D), hs: (T + 1, B, H) = h_0 … h_T,
    weight_ih: (H, D), weight_hh: (H, H)
    -> (dx (T, B, D), dh0 (B, H), dW_ih (H, D), dW_hh (H, H), db_ih (H,), db_hh (H,))."""
    T = x.shape[0]
    dx = np.zeros_like(x)
    dW_ih, dW_hh = np.zeros_like(weight_ih), np.zeros_like(weight_hh)
    db = np.zeros(weight_hh.shape[0])
    dh = d_h_n.copy()  # ∂L/∂h_T from the final state; the future of the last step adds nothing
    for t in range(T - 1, -1, -1):
        dh = dh + d_out[t]  # ∂L/∂h_t in all: from the output at t and from step t + 1
        dz = dh * (1 - hs[t + 1] ** 2)  # through the tanh of step t (h_t = hs[t + 1])
        dx[t] = dz @ weight_ih  # x_t is used by step t only
        dW_ih += dz.T @ x[t]  # shared weights: every step adds its part
        dW_hh += dz.T @ hs[t]  # h_{t−1} = hs[t]
        db += dz.sum(axis=0)
        dh = dz @ weight_hh  # ∂L/∂h_{t−1} through step t: sent one step back
    return dx, dh, dW_ih, dW_hh, db, db.copy()
