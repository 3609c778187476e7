"""Exercise: the input projection of a recurrent layer fed by an embedding, backward per word.

Forward (given below): a table (V, D) of word vectors, N tokens' ids (N,) (ints in
[0, V), words repeat, as in text), the layer's input weights W (n, D):

    x[i] = table[ids[i]]                    x: (N, D), the embedding's output
    A[i] = x[i] Wᵀ                          A: (N, n), the input side of every step

Given dA = ∂L/∂A: (N, n), return d_table = ∂L/∂table: (V, D) and dW = ∂L/∂W: (n, D).

Without forming dx = dA W (N, D): every token of word w has the same row table[w], so sum
dA over each word's tokens first, S[w] = Σ_{i: ids[i] = w} dA[i] (one row per distinct
word), then write both gradients with S. Careful: in NumPy, `S[ids] += dA` does NOT add
twice for a repeated id.

Check it:  python -m minidl.exercises check embedded_projection_backward
"""


def embedded_projection_forward(table, ids, W):
    """Given: A = table[ids] Wᵀ. table: (V, D), ids: (N,) ints, W: (n, D) -> A: (N, n)."""
    return table[ids] @ W.T


def embedded_projection_backward(dA, ids, table, W):
    """dA: (N, n), ids: (N,) ints, table: (V, D), W: (n, D) -> (d_table (V, D), dW (n, D))."""
    raise NotImplementedError("sum dA per word, then write ∂L/∂table and ∂L/∂W with those sums")
