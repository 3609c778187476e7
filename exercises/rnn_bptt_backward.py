"""Exercise: backpropagation through time (BPTT) of an Elman RNN over a whole sequence
(chapter: rnn-and-bptt.md).

Forward (given below): a sequence x: (T, B, D), the initial state h_0: (B, H), and one
RNN step, the same weights at every step (shapes as in ``rnn_step_backward``):

    h_t = tanh(x_t W_ihᵀ + b_ih + h_{t−1} W_hhᵀ + b_hh)        t = 1 … T
    out = (h_1, …, h_T): (T, B, H)        h_n = h_T: (B, H)

The states are given as hs: (T + 1, B, H) with hs[0] = h_0 and hs[t] = h_t (so the output
of step index t, 0-based, is hs[t + 1]). Given the upstream gradients of both outputs,
d_out = ∂L/∂out: (T, B, H) and d_h_n = ∂L/∂h_n: (B, H), derive and return

    dx: (T, B, D),  dh0: (B, H),  dW_ih: (H, D),  dW_hh: (H, H),  db_ih: (H,),  db_hh: (H,)

Hint: walk the steps backwards. ∂L/∂h_t has two sources: the output at t, and the step
after it (which used h_t as its previous state). The weights are used by every step.

Check it:  python -m minidl.exercises check rnn_bptt_backward
"""

import numpy as np


def rnn_sequence_forward(x, h0, weight_ih, weight_hh, bias_ih, bias_hh):
    """Given: the T steps -> (out (T, B, H), h_n (B, H)) and hs (T + 1, B, H)."""
    hs = [h0]
    for t in range(x.shape[0]):
        hs.append(np.tanh(x[t] @ weight_ih.T + bias_ih + hs[-1] @ weight_hh.T + bias_hh))
    hs = np.stack(hs)
    return (hs[1:], hs[-1]), hs


def rnn_bptt_backward(d_out, d_h_n, x, hs, weight_ih, weight_hh):
    """d_out: (T, B, H), d_h_n: (B, H), x: (T, B, D), hs: (T + 1, B, H) = h_0 … h_T,
    weight_ih: (H, D), weight_hh: (H, H)
    -> (dx (T, B, D), dh0 (B, H), dW_ih (H, D), dW_hh (H, H), db_ih (H,), db_hh (H,))."""
    raise NotImplementedError("walk the steps from T − 1 down to 0: dh_t = d_out[t] + what step t + 1 sends back")
