"""Exercise: the backward pass of one Elman RNN step (chapter: rnn-and-bptt.md).

Forward (given below), PyTorch's ``nn.RNNCell``: a batch x: (B, D), the previous state
h: (B, H), weights weight_ih: (H, D), weight_hh: (H, H) (one row per hidden unit), biases
b_ih, b_hh: (H,):

    z  = x W_ihᵀ + b_ih + h W_hhᵀ + b_hh            z: (B, H)
    h' = tanh(z)                                    h': (B, H)

Given dh_new = ∂L/∂h': (B, H) and the forward's output h_new = h', derive and return

    dx: (B, D),  dh: (B, H),  dW_ih: (H, D),  dW_hh: (H, H),  db_ih: (H,),  db_hh: (H,)

Hint: first dz = ∂L/∂z through the tanh (its derivative is cheapest from its output);
then z is two linear layers side by side, and each gets the linear layer's backward.

Check it:  python -m minidl.exercises check rnn_step_backward
"""

import numpy as np


def rnn_step_forward(x, h, weight_ih, weight_hh, bias_ih, bias_hh):
    """Given: h' = tanh(x W_ihᵀ + b_ih + h W_hhᵀ + b_hh) -> h_new: (B, H)."""
    return np.tanh(x @ weight_ih.T + bias_ih + h @ weight_hh.T + bias_hh)


def rnn_step_backward(dh_new, x, h, weight_ih, weight_hh, h_new):
    """dh_new: (B, H), x: (B, D), h: (B, H), weight_ih: (H, D), weight_hh: (H, H), h_new: (B, H)
    -> (dx (B, D), dh (B, H), dW_ih (H, D), dW_hh (H, H), db_ih (H,), db_hh (H,))."""
    raise NotImplementedError("write the backward of h' = tanh(x W_ihᵀ + b_ih + h W_hhᵀ + b_hh)")
