"""Solution of ``lstm_bptt_backward``: the step's backward from t = T − 1 down to 0, with two
states crossing each step boundary. ∂L/∂h_t collects the output's gradient at t and what
step t + 1 sends back; ∂L/∂c_t only what step t + 1 sends back (c_t is not an output),
through f_{t+1}: the cell path that lets an LSTM's gradient last. The shared weights add up
every step's share."""

import numpy as np

from minidl.functional.lstm import lstm_step_reference_backward


def lstm_bptt_backward(d_out, d_h_n, d_c_n, caches):
    """d_out: (T, B, H); d_h_n, d_c_n: (B, H); caches: the forward's, one per step
    -> (dx (T, B, D), dh0 (B, H), dc0 (B, H), dW_ih (4H, D), dW_hh (4H, H), db (4H,))."""
    dx = [None] * len(caches)
    dW_ih, dW_hh, db = 0.0, 0.0, 0.0
    dh, dc = d_h_n, d_c_n  # what the final state receives; nothing comes from after the last step
    for t in range(len(caches) - 1, -1, -1):
        g = lstm_step_reference_backward((dh + d_out[t], dc), caches[t])  # ∂L/∂h_t, ∂L/∂c_t in all
        dx[t] = g["x"]
        dW_ih, dW_hh, db = dW_ih + g["weight_ih"], dW_hh + g["weight_hh"], db + g["bias_ih"]  # shared weights
        dh, dc = g["h"], g["c"]  # ∂L/∂h_{t−1}, ∂L/∂c_{t−1} through step t: sent one step back
    return np.stack(dx), dh, dc, dW_ih, dW_hh, db
