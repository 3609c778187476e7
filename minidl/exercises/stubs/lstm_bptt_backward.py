"""Exercise: backpropagation through time for an LSTM layer (chapter: lstm.md).

Forward (given below): one LSTM step (PyTorch's ``nn.LSTMCell``, gate blocks i, f, g, o)
applied at t = 0 … T − 1 to x: (T, B, D), from the state h0, c0: (B, H):

    (h_t, c_t) = step(x_t, h_{t−1}, c_{t−1})      out[t] = h_t     h_n = h_{T−1}, c_n = c_{T−1}

with the same weights at every step: weight_ih (4H, D), weight_hh (4H, H), biases (4H,).
The forward returns (out (T, B, H), h_n, c_n) and ``caches``, one per step. Use the
library's step backward (imported below):

    lstm_step_reference_backward((dh_t, dc_t), caches[t])
        -> {"x", "h", "c", "weight_ih", "weight_hh", "bias_ih", "bias_hh"}

for dh_t = ∂L/∂h_t and dc_t = ∂L/∂c_t *in all*: it returns ∂L/∂x_t, ∂L/∂h_{t−1},
∂L/∂c_{t−1} and step t's share of the weight gradients. What you write is the loop.

Given d_out = ∂L/∂out: (T, B, H), d_h_n = ∂L/∂h_n and d_c_n = ∂L/∂c_n: (B, H), return

    dx: (T, B, D),  dh0: (B, H),  dc0: (B, H),
    dW_ih: (4H, D),  dW_hh: (4H, H),  db: (4H,)      (db: bias_ih's gradient, = bias_hh's)

Hint: two states cross each step boundary. What does ∂L/∂h_t collect, and ∂L/∂c_t?

Check it:  python -m minidl.exercises check lstm_bptt_backward
"""

import numpy as np

from minidl.functional.lstm import lstm_step_reference, lstm_step_reference_backward  # noqa: F401


def lstm_sequence_forward(x, h0, c0, weight_ih, weight_hh, bias_ih, bias_hh):
    """Given. x: (T, B, D); h0, c0: (B, H) -> ((out (T, B, H), h_n, c_n), caches)."""
    h, c, out, caches = h0, c0, [], []
    for t in range(x.shape[0]):
        (h, c), cache = lstm_step_reference(x[t], h, c, weight_ih, weight_hh, bias_ih, bias_hh)
        out.append(h)
        caches.append(cache)
    return (np.stack(out), h, c), caches


def lstm_bptt_backward(d_out, d_h_n, d_c_n, caches):
    """d_out: (T, B, H); d_h_n, d_c_n: (B, H); caches: the forward's, one per step
    -> (dx (T, B, D), dh0 (B, H), dc0 (B, H), dW_ih (4H, D), dW_hh (4H, H), db (4H,))."""
    raise NotImplementedError("from t = T − 1 down to 0: what each state receives, what the weights add up")
