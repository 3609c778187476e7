"""Embedding lookup: a row gather forward, a scatter-add backward.

Forward: ``y[n] = W[ids[n]]`` for ids of any shape S, W: (V, E) -> y: S + (E,).
It equals a one-hot matrix product, ``y = onehot(ids) W``, so by the Linear rule
``dW = onehot(ids)ᵀ dy``: row v of dW is the sum of dy over every position where
ids == v. That sum must *accumulate* repeated ids — ``dW[ids] += dy`` would keep only one
of them (buffered fancy assignment) — hence a scatter-add: ``xp.add.at`` (unbuffered), or,
faster, one ``bincount`` over the flattened table.
The row ``padding_idx`` gets no gradient, so the padding vector stays as it started.

A layer that knows its input is ``table[ids]`` can hand back those sums itself, as the
nonzero rows of dW (a :class:`RowGrad`; the recurrent layers do,
:mod:`.distinct_rows`): then the backward only writes them into a zero table.
"""

from __future__ import annotations

from typing import NamedTuple

from ..backend import asnumpy, get_array_module
from ..errors import DTypeError, IndexRangeError

__all__ = ["check_ids", "EmbeddingCache", "RowGrad", "embedding_forward", "embedding_backward"]


def check_ids(ids, num_embeddings: int, who: str = "Embedding") -> None:
    """Refuse non-integer ids and ids outside [0, num_embeddings): NumPy would silently wrap
    a negative id to the end of the table, and CUDA would read out of bounds."""
    if ids.dtype.kind not in "iu":
        raise DTypeError(f"{who}: ids must be an integer array (token ids), got dtype {ids.dtype}")
    if ids.size == 0:
        return
    # one device-to-host copy for both ends (each copy makes the host wait for the GPU)
    lo, hi = (int(v) for v in asnumpy(get_array_module(ids).stack([ids.min(), ids.max()])))
    if lo < 0 or hi >= num_embeddings:
        bad = lo if lo < 0 else hi
        raise IndexRangeError(
            f"{who}: ids must lie in [0, {num_embeddings}) (num_embeddings={num_embeddings}), "
            f"got token id {bad}, outside the vocabulary"
        )


class EmbeddingCache(NamedTuple):
    """What :func:`embedding_backward` needs: the ids, the table's size, the padding row."""

    ids: object
    num_embeddings: int
    padding_idx: int | None


class RowGrad(NamedTuple):
    """∂L/∂W of a table W (V, E) given by its nonzero rows: ``dW[index] = rows``, zero
    elsewhere; ``index`` (U,) distinct row numbers, ``rows`` (U, E)."""

    index: object
    rows: object


# --8<-- [start:embedding]
def embedding_forward(ids, weight, *, padding_idx=None):
    """ids: integer array of any shape S, weight: (V, E) -> ``(y S + (E,), EmbeddingCache)``.

    ``padding_idx`` (or None) names the row that :func:`embedding_backward` leaves without
    gradient; the forward reads it like any other row."""
    return weight[ids], EmbeddingCache(ids, weight.shape[0], padding_idx)


def embedding_backward(dy, cache: EmbeddingCache) -> dict:
    """dy: S + (E,) -> ``{"weight": dW (V, E)}``, summing the rows of dy that share an id
    (ids are integers: they get no gradient). dy may instead be those sums, a :class:`RowGrad`.

    ``xp.add.at(dW, ids, dy)`` says exactly this. The same sums come faster from one
    ``bincount`` over the flattened table: element (v, e) of dW has flat index v·E + e, and
    bincount adds up the weights dy[n, e] of every index ids[n]·E + e that hits it
    (1.3x faster than ``add.at`` for report B's 12,800 × 64 gradient rows here).
    """
    ids, num_embeddings, padding_idx = cache
    if isinstance(dy, RowGrad):  # the sums, already made
        xp = get_array_module(dy.rows)
        dW = xp.zeros((num_embeddings, dy.rows.shape[-1]), dtype=dy.rows.dtype)
        dW[dy.index] = dy.rows
    else:
        xp = get_array_module(dy)
        E = dy.shape[-1]
        flat_index = (ids.reshape(-1, 1) * E + xp.arange(E)).reshape(-1)
        dW = xp.bincount(flat_index, weights=dy.reshape(-1), minlength=num_embeddings * E)
        dW = dW.reshape(num_embeddings, E).astype(dy.dtype, copy=False)
    if padding_idx is not None:
        dW[padding_idx] = 0
    return {"weight": dW}
# --8<-- [end:embedding]
