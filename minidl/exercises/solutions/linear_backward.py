"""Solution of ``linear_backward``: y = x Wᵀ + b, so ∂y_nm/∂x_nd = W_md, ∂y_nm/∂W_md = x_nd
and ∂y_nm/∂b_m = 1; summing dy against each gives three matrix products."""


def linear_backward(dy, x, W):
    """dy: (N, M), x: (N, D), W: (M, D) -> (dx (N, D), dW (M, D), db (M,))."""
    dx = dy @ W  # (N, M) @ (M, D): dx_nd = Σ_m dy_nm W_md
    dW = dy.T @ x  # (M, N) @ (N, D): dW_md = Σ_n dy_nm x_nd, a sum over the batch
    db = dy.sum(axis=0)  # every row of the batch adds to the same bias
    return dx, dW, db
