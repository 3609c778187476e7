"""Solution of ``embedded_projection_backward``: A[i] = table[ids[i]] Wᵀ, so
∂L/∂table[w] = Σ_{i: ids[i] = w} dA[i] W = S[w] W and dW = Σ_i dA[i]ᵀ table[ids[i]] = Σ_w S[w]ᵀ table[w],
with S the sums of dA per word: two products of one row per distinct word instead of N."""

import numpy as np


def embedded_projection_backward(dA, ids, table, W):
    """dA: (N, n), ids: (N,) ints, table: (V, D), W: (n, D) -> (d_table (V, D), dW (n, D))."""
    words, where = np.unique(ids, return_inverse=True)  # the distinct ids; each token's index among them
    S = np.zeros((words.size, dA.shape[1]))
    np.add.at(S, where, dA)  # S[w] += dA[i] for every token i of word w (unbuffered: repeats add)
    d_table = np.zeros_like(table)
    d_table[words] = S @ W  # each word's row once; words absent from ids keep zero
    dW = S.T @ table[words]
    return d_table, dW
