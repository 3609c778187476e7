"""Solution of ``embedding_backward``: y = onehot(ids) W, so dW = onehot(ids)ᵀ dy: row v of dW
is the sum of dy over every position whose id is v. ``np.add.at`` adds once per
occurrence (unbuffered); ``dW[ids] += dy`` would keep only one of the repeats."""

import numpy as np


def embedding_backward(dy, ids, num_embeddings):
    """dy: (B, T, E), ids: (B, T) ints, num_embeddings: V -> dW: (V, E)."""
    E = dy.shape[-1]
    dW = np.zeros((num_embeddings, E))
    np.add.at(dW, ids.reshape(-1), dy.reshape(-1, E))  # dW[ids[n]] += dy[n], for every n
    return dW
