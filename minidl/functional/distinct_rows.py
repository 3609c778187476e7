"""The input projection of an embedded sequence, one product per distinct word.

A recurrent layer fed by an embedding gets ``x = table[ids]``: ``x_t`` of a step is the
table row of that step's token. Its input projection ``A = x W_ihᵀ + b`` (one GEMM of T·B
rows, :mod:`.sequence`) computes the same row ``table[v] W_ihᵀ + b`` at every step where
word v occurs. Text repeats words: 64 IMDB reviews cut to their last 300 tokens hold 3,523
distinct ids among their 19,200 tokens. So project each distinct row once and copy the
results to the steps:

    u, where = unique(ids)          u: the U distinct ids, where[t, b]: the index of ids[t, b] in u
    P = table[u] W_ihᵀ + b          (U, gates·H): the product shrinks from T·B rows to U
    A[t, b] = P[where[t, b]]        the same numbers as x W_ihᵀ + b, gathered

:func:`project_steps` takes this path when at most half the tokens are distinct words.

For report E's first layer (D = 200, H = 256) on those reviews the projection took 21.8 ms
instead of 60.4 ms (one core of an Intel Xeon VM, ``benchmarks/README.md``). Only the
forward changes: the backward's ``dx = dZ W`` and ``dW = dZᵀ x`` stay one GEMM each over
all T·B rows, since summing ∂L/∂z over equal ids first costs more than it saves (measured
there too).

The layers take the pair ``input_rows = (table, ids)`` beside ``x`` (``x`` is still what
the backward reads); :func:`check_input_rows` refuses a pair that cannot be x's source.
"""

from __future__ import annotations

from .. import backend
from ..checks import check_shape, require_array
from ..errors import DTypeError, RangeError, ShapeError
from .sequence import project_gate_major, project_inputs

__all__ = ["check_input_rows", "project_rows", "project_steps"]


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
    if backend.device_of(ids) != "cpu":
        return table, ids  # values unread on a GPU: each read would make the host wait for it
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
def project_rows(table, distinct, where, WxT, b, gates: int | None = None):
    """``x W_ihᵀ + b`` for ``x = table[ids]``, one product per distinct id.

    table (V, D); distinct (U,) the distinct ids and where (T, B) each step's index into
    them (``unique(ids, return_inverse=True)``); WxT (D, n), b (n,) or None. Returns
    (T, B, n) for ``gates`` None, as :func:`~.sequence.project_inputs`; for ``gates = k``,
    (T, k, B, H) with n = k·H, gate-major as :func:`~.sequence.project_gate_major` (the
    gather writes that layout directly, so no regrouping pass follows).
    """
    xp = backend.get_array_module(table)
    P = table[distinct] @ WxT  # (U, n): each distinct word's projection, once
    if b is not None:
        P += b
    if gates is None:
        return P[where]
    H = WxT.shape[1] // gates
    # (T, 1, B) ids and (1, k, 1) gates index P viewed as (U, k, H): A[t, g, b] = P[where[t, b], g]
    return P.reshape(-1, gates, H)[where[:, None, :], xp.arange(gates).reshape(1, gates, 1)]


def project_steps(x, WxT, b, gates: int | None, input_rows, who: str):
    """The input projection of every step of x (T, B, D) for a recurrent layer ``who``.

    Per distinct id (:func:`project_rows`) on the host when ``input_rows`` is given, checked,
    and its ids hold at most half as many distinct values as tokens; else one dense GEMM
    (:func:`~.sequence.project_inputs`, :func:`~.sequence.project_gate_major`). Why half:
    the gather costs about as much as the product it saves once most ids differ (report
    B's sizes, uniformly random ids: 5.2 ms against 3.8 ms dense with 64% distinct, 3.1
    against 4.2 ms with 26%; a review batch has 15–25%: ``benchmarks/README.md``). Why the
    host only: on a GPU the sort behind ``unique`` and its wait for the count of distinct
    ids were never measured against the dense product, which a GPU runs near its peak.
    """
    rows = check_input_rows(input_rows, x, who)
    if rows is not None and backend.device_of(x) == "cpu":
        table, ids = rows
        distinct, where = backend.get_array_module(ids).unique(ids, return_inverse=True)
        if 2 * distinct.size <= ids.size:
            return project_rows(table, distinct, where.reshape(ids.shape), WxT, b, gates)
    return project_inputs(x, WxT, b) if gates is None else project_gate_major(x, WxT, b, gates)
# --8<-- [end:project_rows]
