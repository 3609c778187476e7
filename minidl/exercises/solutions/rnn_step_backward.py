"""Solution of ``rnn_step_backward``: h' = tanh(z) with z = x W_ihᵀ + b_ih + h W_hhᵀ + b_hh.
First ∂L/∂z through the tanh, read off its output (tanh' = 1 − h'²); then z is two linear
layers that share it, so each gets the linear layer's three products."""


def rnn_step_backward(dh_new, x, h, weight_ih, weight_hh, h_new):
    """dh_new: (B, H), x: (B, D), h: (B, H), weight_ih: (H, D), weight_hh: (H, H), h_new: (B, H)
    -> (dx (B, D), dh (B, H), dW_ih (H, D), dW_hh (H, H), db_ih (H,), db_hh (H,))."""
    dz = dh_new * (1 - h_new * h_new)  # through the tanh: (B, H)
    dx = dz @ weight_ih  # (B, H) @ (H, D)
    dh = dz @ weight_hh  # (B, H) @ (H, H): what goes back to the previous step
    dW_ih = dz.T @ x  # (H, B) @ (B, D): a sum over the batch
    dW_hh = dz.T @ h  # (H, B) @ (B, H)
    db = dz.sum(axis=0)  # the two biases enter z as a sum: both get the same gradient
    return dx, dh, dW_ih, dW_hh, db, db.copy()
