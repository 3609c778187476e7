"""Exercise: the backward pass of one LSTM step (chapter: lstm.md).

Forward (given below), PyTorch's ``nn.LSTMCell``: a batch x: (B, D), the previous state
h, c: (B, H), weights weight_ih: (4H, D), weight_hh: (4H, H), biases (4H,), whose four
row blocks of H are the gates in the order i, f, g, o:

    z = x W_ihᵀ + b_ih + h W_hhᵀ + b_hh          z: (B, 4H) = [z_i, z_f, z_g, z_o]
    i = σ(z_i)   f = σ(z_f)   g = tanh(z_g)   o = σ(z_o)
    c' = f ⊙ c + i ⊙ g
    h' = o ⊙ tanh(c')

Given dh_new = ∂L/∂h' and dc_new = ∂L/∂c' from above (the next step or the loss), both
(B, H), and the forward's gates i, f, g, o and c_new = c', derive and return

    dx: (B, D),  dh: (B, H),  dc: (B, H),
    dW_ih: (4H, D),  dW_hh: (4H, H),  db_ih: (4H,),  db_hh: (4H,)    (blocks i, f, g, o)

Hint: c' reaches the loss by two paths. Get ∂L/∂c' in all first, then each gate: the
product rule for c' or h', times the slope of its nonlinearity (σ' = σ(1 − σ),
tanh' = 1 − tanh²). The grader names the gate blocks that are wrong.

Check it:  python -m minidl.exercises check lstm_step_backward
"""

import numpy as np


def lstm_step_forward(x, h, c, weight_ih, weight_hh, bias_ih, bias_hh):
    """Given: one step -> ((h_new, c_new), (i, f, g, o)), each (B, H)."""
    z = x @ weight_ih.T + bias_ih + h @ weight_hh.T + bias_hh
    z_i, z_f, z_g, z_o = np.split(z, 4, axis=1)
    i, f, g, o = 1 / (1 + np.exp(-z_i)), 1 / (1 + np.exp(-z_f)), np.tanh(z_g), 1 / (1 + np.exp(-z_o))
    c_new = f * c + i * g
    return (o * np.tanh(c_new), c_new), (i, f, g, o)


def lstm_step_backward(dh_new, dc_new, x, h, c, weight_ih, weight_hh, i, f, g, o, c_new):
    """dh_new, dc_new: (B, H), x: (B, D), h, c: (B, H), weight_ih: (4H, D), weight_hh: (4H, H),
    gates i, f, g, o: (B, H) (after their nonlinearities), c_new: (B, H)
    -> (dx (B, D), dh (B, H), dc (B, H), dW_ih (4H, D), dW_hh (4H, H), db_ih (4H,), db_hh (4H,))."""
    raise NotImplementedError("first ∂L/∂c' in all (two paths), then the four gates i, f, g, o")
