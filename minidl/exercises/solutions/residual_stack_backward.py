"""Solution of ``residual_stack_backward``: the layers in reverse order, each one's
upstream gradient sent both through the layer and around it. u_l feeds the layer above it
and, through the skip, the sum above that: its gradient is the sum of the two."""

from minidl.functional.lstm import lstm_backward


def residual_stack_backward(d_out, d_h_n, caches):
    """d_out: (T, B, H); d_h_n: (3, B, H); caches: the forward's, one per layer
    -> (dx, dW_ih_0, dW_hh_0, db_0, dW_ih_1, dW_hh_1, db_1, dW_ih_2, dW_hh_2, db_2)."""
    du = d_out.copy()  # ∂L/∂u_3
    grads = [None] * len(caches)
    for l in range(len(caches) - 1, -1, -1):
        du[-1] += d_h_n[l]  # h_n[l] = u_{l+1}[T − 1]: its gradient joins ∂L/∂u_{l+1} there,
        # before the split below, so it goes both through layer l and around it
        g = lstm_backward((du, None, None), caches[l])  # through layer l
        grads[l] = (g["weight_ih"], g["weight_hh"], g["bias_ih"])
        du = g["x"] if l == 0 else du + g["x"]  # ∂L/∂u_l: around the layer (the skip) plus through it
    return (du,) + tuple(a for layer in grads for a in layer)
