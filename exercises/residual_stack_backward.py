"""Exercise: the backward pass of report E's residual LSTM stack (chapter:
deep-bidirectional-residual.md).

Forward (given below): three one-layer LSTMs, each starting from zero states, with a skip
around every layer but the first (whose input width D differs from H in general):

    u_0 = x                                   x: (T, B, D)
    u_1 = LSTM_0(u_0)                         u_l: (T, B, H) for l ≥ 1
    u_2 = LSTM_1(u_1) + u_1
    u_3 = LSTM_2(u_2) + u_2                   the stack's output
    h_n[l] = u_{l+1}[T − 1]                   the stack's final states, (3, B, H)

No dropout and no padding here (the chapter adds both). The forward returns u_3, h_n and
``caches``, one per layer. Use the library's backward of one layer (imported below):
``lstm_backward((d_layer_out, None, None), cache) -> {"x", "weight_ih", "weight_hh",
"bias_ih", ...}`` for d_layer_out = ∂L/∂(that layer's own output, before any skip), (T, B, H).
It writes over its cache: call it once per layer. What you write is how the layers connect.

Given d_out = ∂L/∂u_3: (T, B, H) and d_h_n = ∂L/∂h_n: (3, B, H), return

    dx: (T, B, D), then for each layer l = 0, 1, 2 in turn
    dW_ih_l: (4H, D_l) (D_0 = D, else H),  dW_hh_l: (4H, H),  db_l: (4H,)

(db_l is the gradient of bias_ih_l; bias_hh_l's is the same array, both enter as a sum.)

Hint: u_l feeds two things above it. Where, and into which array, does h_n[l]'s gradient enter?

Check it:  python -m minidl.exercises check residual_stack_backward
"""

import numpy as np

from minidl.functional.lstm import lstm_backward, lstm_forward  # noqa: F401


def residual_stack_forward(x, layers):
    """Given. x: (T, B, D); layers: three dicts of weight_ih, weight_hh, bias_ih, bias_hh
    -> (u_3 (T, B, H), h_n (3, B, H), caches)."""
    u, h_n, caches = x, [], []
    for l, weights in enumerate(layers):
        zeros = np.zeros((x.shape[1], weights["weight_hh"].shape[1]))
        (out, _, _), cache = lstm_forward(u, zeros, zeros, **weights)
        u = out if l == 0 else out + u  # the skip around every layer but the first
        h_n.append(u[-1])
        caches.append(cache)
    return u, np.stack(h_n), caches


def residual_stack_backward(d_out, d_h_n, caches):
    """d_out: (T, B, H); d_h_n: (3, B, H); caches: the forward's, one per layer
    -> (dx, dW_ih_0, dW_hh_0, db_0, dW_ih_1, dW_hh_1, db_1, dW_ih_2, dW_hh_2, db_2)."""
    raise NotImplementedError("from the top layer down: through each layer and around it")
