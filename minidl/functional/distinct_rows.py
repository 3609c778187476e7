"""A recurrent layer fed by an embedding: its input products once per distinct word.

A recurrent layer fed by an embedding gets ``x = table[ids]``: ``x_t`` of a step is the
table row of that step's token. Its input projection ``A = x W_ihᵀ + b`` (one GEMM of T·B
rows, :mod:`.sequence`) computes the same row ``table[v] W_ihᵀ + b`` at every step where
word v occurs. Text repeats words: 64 IMDB reviews cut to their last 300 tokens hold 3,523
distinct ids among their 19,200 tokens. So project each distinct row once and copy the
results to the steps:

    u, where = unique(ids)          u: the U distinct ids, where[t, b]: the index of ids[t, b] in u
    P = table[u] W_ihᵀ + b          (U, gates·H): the product shrinks from T·B rows to U
    A[t, b] = P[where[t, b]]        the same numbers as x W_ihᵀ + b, gathered

The backward has the same structure. With ∂L/∂z of every token (dZ, (T·B, n)), the dense
layer computes ``dx = dZ W_ih`` and ``dW_ih = dZᵀ x`` over all T·B rows, and the embedding
then adds the rows of dx that share an id. But the table needs only those sums, and
``dW_ih`` only sees x through the U distinct rows, so sum ∂L/∂z per word first:

    S[u] = Σ dZ[i] over the tokens i of word u          (U, n)   (:func:`sum_by_word`)
    ∂L/∂table[u] = S[u] W_ih     dW_ih = Sᵀ table[u]             (:func:`input_side_grads`)

Both products shrink from T·B rows to U, and ∂L/∂x is never formed: the layer hands the
embedding its table's gradient as rows (:class:`~.embedding.RowGrad`).

:func:`project_steps` takes this path when at most half the tokens are distinct words.
For report E's first layer (D = 200, H = 256) on those reviews the projection took 21.8 ms
instead of 60.4 ms, and the input side of the backward, with the embedding's, 27.2 ms
instead of 117 ms (one core of an Intel Xeon VM, ``benchmarks/README.md``).

The layers take the pair ``input_rows = (table, ids)`` beside ``x``;
:func:`check_input_rows` refuses a pair that cannot be x's source.
"""

from __future__ import annotations

from typing import NamedTuple

from .. import backend
from ..checks import check_shape, require_array
from ..errors import DTypeError, RangeError, ShapeError
from .embedding import RowGrad
from .sequence import block_size, input_grads, project_gate_major, project_inputs

__all__ = ["DistinctRows", "check_input_rows", "distinct_rows", "project_words", "gather_steps", "project_rows",
           "step_words", "project_steps", "project_blocks", "sum_by_word",
           "input_side_grads", "add_row_grads"]


class DistinctRows(NamedTuple):
    """The words of an id array (flattened), most frequent first (:func:`sum_by_word` relies on it):
    ``distinct`` (U,) the ids, ``counts`` (U,) their occurrences (non-increasing), ``where``
    (T·B,) each token's index into them, ``grouped`` (T·B,) the tokens word by word (each
    word's in order) and ``start`` (U,) where each word's tokens begin in ``grouped``."""

    distinct: object
    counts: object
    where: object
    grouped: object
    start: object

    @property
    def first(self):
        """(U,) the token where each word first occurs: the head of its group."""
        return self.grouped[self.start]


def distinct_rows(ids) -> DistinctRows:
    """The :class:`DistinctRows` of an id array of any shape (flattened in C order).

    One stable sort groups the tokens by id, as ``unique`` does inside; the backward sums
    over the same grouping, so it is kept rather than sorted for again."""
    xp = backend.get_array_module(ids)
    flat = ids.reshape(-1)
    keys = flat
    if backend.device_of(ids) == "cpu" and flat.size and 0 <= int(flat.min()) and int(flat.max()) < 2**16:
        # the same order: NumPy's stable sort of 16-bit keys is a radix sort, linear in the
        # tokens (IMDB's 77K test tokens: 0.6 ms against 2.8 ms for the int64 ids' merge sort)
        keys = flat.astype(xp.uint16)
    grouped = xp.argsort(keys, kind="stable")  # token indices grouped by id, ids ascending
    sorted_ids = flat[grouped]
    new = xp.ones(flat.size, dtype=bool)
    xp.not_equal(sorted_ids[1:], sorted_ids[:-1], out=new[1:])
    start = xp.flatnonzero(new)  # where each id's tokens begin
    counts = xp.diff(start, append=flat.size)
    by_count = xp.argsort(-counts, kind="stable")  # the ids, most frequent first
    rank = xp.empty_like(by_count)
    rank[by_count] = xp.arange(by_count.size)  # an id's index in that order
    where = xp.empty_like(grouped)
    where[grouped] = xp.repeat(rank, counts)
    start = start[by_count]
    return DistinctRows(sorted_ids[start], counts[by_count], where, grouped, start)


def check_input_rows(input_rows, x, who: str):
    """``input_rows``: None, or ``(table (V, D), ids (T, B) integers in [0, V))`` with
    ``x == table[ids]`` for x (T, B, D). Returns it as a tuple (or None); raises on a table
    of another width, dtype or device, ids of another shape or dtype, and on the host on an
    id outside the table or a first step whose rows are not x's (on a GPU those values are
    not read back: the embedding that made x has checked its ids)."""
    if input_rows is None:
        return None
    if not (isinstance(input_rows, (tuple, list)) and len(input_rows) == 2):
        raise DTypeError(f"{who}: input_rows must be a pair (table (V, D), ids (T, B)), "
                         f"got {type(input_rows).__name__}")
    table, ids = input_rows
    require_array(table, "input_rows table", who)
    require_array(ids, "input_rows ids", who)
    T, B, D = x.shape
    check_shape(table, (None, D), "input_rows table", who)
    check_shape(ids, (T, B), "input_rows ids", who)
    if table.dtype != x.dtype or backend.device_of(table) != backend.device_of(x):
        raise DTypeError(f"{who}: input_rows table must be x's dtype and device ({x.dtype}, "
                         f"{backend.device_of(x)}), got {table.dtype}, {backend.device_of(table)}")
    if ids.dtype.kind not in "iu":
        raise DTypeError(f"{who}: input_rows ids must be integers, got dtype {ids.dtype}")
    if backend.device_of(ids) != "cpu" or ids.size == 0:
        return table, ids  # values unread on a GPU (each read would make the host wait), or none
    lo, hi = int(ids.min()), int(ids.max())
    if lo < 0 or hi >= table.shape[0]:
        raise RangeError(f"{who}: input_rows ids must lie in [0, {table.shape[0]}) (the table's rows), "
                         f"got ids from {lo} to {hi}")
    # a whole comparison would cost the gather this path saves: step 0 catches a wrong pair
    if not bool((table[ids[0]] == x[0]).all()):
        raise ShapeError(f"{who}: input_rows must be the embedding x came from (x == table[ids]); "
                         "x[0] is not table[ids[0]]")
    return table, ids


# --8<-- [start:project_rows]
def project_words(table, distinct, WxT, b):
    """P (U, n) = ``table[distinct] W_ihᵀ + b``: each distinct word's projection, once.
    table (V, D), distinct (U,) ids, WxT (D, n), b (n,) or None."""
    P = table[distinct] @ WxT
    if b is not None:
        P += b
    return P


def gather_steps(P, where, gates: int | None = None):
    """The steps' input side from the words' projections P (U, n): where (T, B) each token's
    index into them. (T, B, n) for ``gates`` None; for ``gates = k``, (T, k, B, H) with
    n = k·H, gate-major as :func:`~.sequence.project_gate_major` (the gather writes that
    layout directly, so no regrouping pass follows)."""
    if gates is None:
        return P[where]
    xp = backend.get_array_module(P)
    H = P.shape[1] // gates
    # (T, 1, B) ids and (1, k, 1) gates index P viewed as (U, k, H): A[t, g, b] = P[where[t, b], g]
    return P.reshape(-1, gates, H)[where[:, None, :], xp.arange(gates).reshape(1, gates, 1)]


def project_rows(table, distinct, where, WxT, b, gates: int | None = None):
    """``x W_ihᵀ + b`` for ``x = table[ids]``, one product per distinct id.

    table (V, D); distinct (U,) the distinct ids and where (T, B) each step's index into
    them (``unique(ids, return_inverse=True)``); WxT (D, n), b (n,) or None. Returns
    (T, B, n) for ``gates`` None, as :func:`~.sequence.project_inputs`; for ``gates = k``,
    (T, k, B, H): :func:`gather_steps`.
    """
    return gather_steps(project_words(table, distinct, WxT, b), where, gates)


def step_words(x, input_rows, who: str):
    """The :class:`DistinctRows` of ``input_rows``' ids when x's projection should run per word
    (:func:`project_steps` says when), else None; ``input_rows`` is checked either way."""
    rows = check_input_rows(input_rows, x, who)
    if rows is None or backend.device_of(x) != "cpu" or x.size == 0:
        return None
    words = distinct_rows(rows[1])
    return words if 2 * words.distinct.size <= rows[1].size else None


def project_steps(x, WxT, b, gates: int | None, input_rows, who: str):
    """The input projection of every step of x (T, B, D) for a recurrent layer ``who``:
    ``(A, rows)``, rows the :class:`DistinctRows` of the ids when the per-word path ran, else None.

    Per distinct id (:func:`project_rows`) on the host when ``input_rows`` is given, checked,
    and its ids hold at most half as many distinct values as tokens; else one dense GEMM
    (:func:`~.sequence.project_inputs`, :func:`~.sequence.project_gate_major`). Why half:
    the gather costs about as much as the product it saves once most ids differ (report
    B's sizes, uniformly random ids: 5.2 ms against 3.8 ms dense with 64% distinct, 3.1
    against 4.2 ms with 26%; a review batch has 15–25%: ``benchmarks/README.md``). Why the
    host only: on a GPU the sort behind ``unique`` and its wait for the count of distinct
    ids were never measured against the dense product, which a GPU runs near its peak.
    """
    words = step_words(x, input_rows, who)
    if words is not None:
        table, ids = input_rows
        return project_rows(table, words.distinct, words.where.reshape(ids.shape), WxT, b, gates), words
    return (project_inputs(x, WxT, b) if gates is None else project_gate_major(x, WxT, b, gates)), None
# --8<-- [end:project_rows]


def project_blocks(x, WxT, b, gates: int, input_rows, who: str):
    """:func:`project_steps`' numbers a block of steps at a time, for a forward that keeps nothing
    (:mod:`.lstm_inference`, :mod:`.gru_inference`): yields ``(s, A)``, A (e − s, gates, B, H)
    the input side of steps s..e−1, gate-major. On the host a block holds about 64K numbers
    (:func:`~.sequence.block_size`), so it stays in the cache while its steps run; on a GPU it
    is all T steps. Per word when :func:`project_steps` would be: each word projected once."""
    T, B, _ = x.shape
    words = step_words(x, input_rows, who)
    P = None if words is None else project_words(input_rows[0], words.distinct, WxT, b)
    where = None if words is None else words.where.reshape(T, B)
    n = block_size(WxT.shape[1] * B, T) if backend.device_of(x) == "cpu" else T
    for s in range(0, T, n):
        e = min(s + n, T)
        yield s, (project_gate_major(x[s:e], WxT, b, gates) if P is None else gather_steps(P, where[s:e], gates))


# --8<-- [start:rows_backward]
def sum_by_word(dZ, rows: DistinctRows, few: int = 64):
    """S (U, n) with ``S[u] = Σ dZ[i]`` over the tokens i of word u; dZ (T·B, n), host arrays.

    Grouped by word (``rows.grouped``), word u's k-th occurrence is token
    ``grouped[start[u] + k]``. Pass k adds every word's k-th occurrence in one gather, and
    since words come most frequent first, the words that have one are a prefix of S. Text
    has a few very frequent words ("the": about 1,000 of 19,200 tokens), so once at most
    ``few`` words remain, each sums the rest of its rows in one call. (``add.reduceat`` over
    the sorted rows, and ``add.at``, took 7–10 times as long: ``benchmarks/README.md``.)
    """
    xp = backend.get_array_module(dZ)
    counts, grouped, start = rows.counts, rows.grouped, rows.start
    S = dZ[rows.first]  # each word's first occurrence: pass 0
    descending = -counts  # ascending, for searchsorted
    k = 1
    m = int(xp.searchsorted(descending, -k))  # the words with more than k occurrences
    while m > few:
        S[:m] += dZ[grouped[start[:m] + k]]
        k += 1
        m = int(xp.searchsorted(descending, -k))
    for u in range(m):  # the few most frequent words: their remaining rows at once
        S[u] += dZ[grouped[start[u] + k : start[u] + counts[u]]].sum(axis=0)
    return S


def input_side_grads(dZ2, x, W, rows: DistinctRows | None, bias: bool = True):
    """The input side of a recurrent backward: ``(dx, dW, db)``, db None without ``bias``.

    dZ2 (T·B, n) holds ∂L/∂(x Wᵀ + b) of every step, x (T, B, D), W (n, D). For rows None,
    the dense ``dx = dZ W``, ``dW = dZᵀ x`` (:func:`~.sequence.input_grads`), ``db = Σ dZ``.
    When x = table[ids] with words ``rows``, per word: with S the sums of dZ2 per word
    (:func:`sum_by_word`) and X = table[distinct] (read from x, as the forward saw it),
    dx is ``RowGrad(distinct, S W)``, ∂L/∂table's rows; ``dW = Sᵀ X``, equal to ``dZᵀ x``
    since every token of word u has the row X[u]; and ``db = Σ_u S[u]``, over U rows, not T·B.
    """
    if rows is None:
        dx, dW = input_grads(dZ2, x, W)
        return dx, dW, dZ2.sum(axis=0) if bias else None
    S = sum_by_word(dZ2, rows)
    X = x.reshape(-1, x.shape[-1])[rows.first]
    return RowGrad(rows.distinct, S @ W), S.T @ X, S.sum(axis=0) if bias else None


def add_row_grads(a: RowGrad, b: RowGrad) -> RowGrad:
    """The sum of two :class:`~.embedding.RowGrad` of one table (a bidirectional layer's two
    directions: the same ids, so mostly the same rows in the same order)."""
    xp = backend.get_array_module(a.rows)
    if a.index.shape == b.index.shape and bool((a.index == b.index).all()):
        return RowGrad(a.index, a.rows + b.rows)
    index, where = xp.unique(xp.concatenate([a.index, b.index]), return_inverse=True)
    rows = xp.zeros((index.size, a.rows.shape[1]), dtype=a.rows.dtype)
    xp.add.at(rows, where, xp.concatenate([a.rows, b.rows]))  # each part's rows are distinct, not both's
    return RowGrad(index, rows)
# --8<-- [end:rows_backward]
