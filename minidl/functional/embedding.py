"""Embedding lookup: a row gather forward, a scatter-add backward.

Forward: ``y[n] = W[ids[n]]`` for ids of any shape S, W: (V, E) -> y: S + (E,).
It equals a one-hot matrix product, ``y = onehot(ids) W``, so by the Linear rule
``dW = onehot(ids)ᵀ dy``: row v of dW is the sum of dy over every position where
ids == v. That sum must *accumulate* repeated ids — ``dW[ids] += dy`` would keep only one
of them (buffered fancy assignment) — hence a scatter-add: ``xp.add.at`` (unbuffered), or,
faster, one ``bincount`` over the flattened table.
The row ``padding_idx`` gets no gradient, so the padding vector stays as it started.
"""

from __future__ import annotations

from ..backend import asnumpy, get_array_module

__all__ = ["check_ids", "embedding_forward", "embedding_backward"]


def check_ids(ids, num_embeddings: int) -> None:
    """Refuse non-integer ids and ids outside [0, num_embeddings): NumPy would silently wrap
    a negative id to the end of the table, and CUDA would read out of bounds."""
    if ids.dtype.kind not in "iu":
        raise TypeError(f"Embedding expects integer token ids, got dtype {ids.dtype}")
    if ids.size == 0:
        return
    # one device-to-host copy for both ends (each copy makes the host wait for the GPU)
    lo, hi = (int(v) for v in asnumpy(get_array_module(ids).stack([ids.min(), ids.max()])))
    if lo < 0 or hi >= num_embeddings:
        bad = lo if lo < 0 else hi
        raise IndexError(
            f"token id {bad} is outside the vocabulary: ids must lie in [0, {num_embeddings}) "
            f"(num_embeddings={num_embeddings})"
        )


# --8<-- [start:embedding]
def embedding_forward(ids, W):
    """ids: integer array of any shape S, W: (V, E) -> y: S + (E,)."""
    return W[ids]


def embedding_backward(dy, ids, num_embeddings, padding_idx=None):
    """dy: S + (E,) -> dW: (V, E), summing the rows of dy that share an id.

    ``xp.add.at(dW, ids, dy)`` says exactly this. The same sums come faster from one
    ``bincount`` over the flattened table: element (v, e) of dW has flat index v·E + e, and
    bincount adds up the weights dy[n, e] of every index ids[n]·E + e that hits it
    (1.3x faster than ``add.at`` for report B's 12,800 × 64 gradient rows here).
    """
    xp = get_array_module(dy)
    E = dy.shape[-1]
    flat_index = (ids.reshape(-1, 1) * E + xp.arange(E)).reshape(-1)
    dW = xp.bincount(flat_index, weights=dy.reshape(-1), minlength=num_embeddings * E)
    dW = dW.reshape(num_embeddings, E).astype(dy.dtype, copy=False)
    if padding_idx is not None:
        dW[padding_idx] = 0
    return dW
# --8<-- [end:embedding]
