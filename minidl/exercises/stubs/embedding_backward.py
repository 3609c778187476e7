"""Exercise: the backward of an embedding lookup, with repeated ids.

Forward (given below): a table W: (V, E), one row per token id; integer ids of shape
(B, T) pick rows:

    y[b, t] = W[ids[b, t]]                  y: (B, T, E)

Given dy = ∂L/∂y: (B, T, E), return dW = ∂L/∂W: (V, E). The ids get no gradient (they are
integers).

Hint: the lookup equals a product with a one-hot matrix, y = onehot(ids) W. An id that
appears several times must receive the *sum* of the gradients of all its positions; rows
of W that no id picked get zero. Careful: in NumPy, `dW[ids] += dy` does NOT add twice
for a repeated index.

Check it:  python -m minidl.exercises check embedding_backward
"""


def embedding_forward(ids, W):
    """Given: y = W[ids]. ids: (B, T) ints in [0, V), W: (V, E) -> y: (B, T, E)."""
    return W[ids]


def embedding_backward(dy, ids, num_embeddings):
    """dy: (B, T, E), ids: (B, T) ints, num_embeddings: V -> dW: (V, E)."""
    raise NotImplementedError("write ∂L/∂W of y = W[ids], summing over repeated ids")
