"""Exercise ``embedded_projection_backward``: ∂L/∂table and ∂L/∂W_ih of a recurrent layer's
input projection when its input is an embedding, summed per word (reference:
functional/distinct_rows.py)."""

import numpy as np

from ...functional.distinct_rows import distinct_rows, input_side_grads
from ..spec import Case, Exercise, Mutant

__all__ = ["EXERCISE"]

SHAPES = ((9, 4, 3, 5), (12, 5, 2, 4), (10, 3, 4, 6), (8, 4, 5, 2))  # (N, V, D, n), D ≠ n


def make_case(rng, i):
    N, V, D, n = SHAPES[i % len(SHAPES)]
    # every word at least once (no zero row of ∂L/∂table), and N > V: words repeat, as in text
    ids = rng.permutation(np.concatenate([np.arange(V), rng.integers(0, V, N - V)]))
    table, W, dA = rng.standard_normal((V, D)), rng.standard_normal((n, D)), rng.standard_normal((N, n))
    return Case(args={"dA": dA, "ids": ids, "table": table, "W": W}, inputs={"table": table, "ids": ids, "W": W})


def reference(case):
    a = case.args
    row_grad, dW, _ = input_side_grads(a["dA"], a["table"][a["ids"]], a["W"], distinct_rows(a["ids"]), bias=False)
    d_table = np.zeros_like(a["table"])
    d_table[row_grad.index] = row_grad.rows
    return d_table, dW


def forward(table, ids, W):
    return table[ids] @ W.T


def _one_per_word(dA, ids, table, W):
    """What ``d_table[ids] = dA @ W`` gives: NumPy's fancy assignment keeps one token per word."""
    d_table = np.zeros_like(table)
    d_table[ids] = dA @ W
    return d_table


def terms(case):
    a = case.args
    full = reference(case)[0]
    return {"d_table": {"the sum over a word's repeated tokens": full - _one_per_word(**a)}}


# ---------------------------------------------------------------- typical wrong solutions
def _sums(dA, ids, V):
    S = np.zeros((V, dA.shape[1]))
    np.add.at(S, ids, dA)
    return S


def one_token_per_word(dA, ids, table, W):
    return _one_per_word(dA, ids, table, W), dA.T @ table[ids]


def dw_transposed(dA, ids, table, W):
    S = _sums(dA, ids, len(table))
    return S @ W, table.T @ S


def words_averaged(dA, ids, table, W):  # the mean over a word's tokens, not the sum
    counts = np.bincount(ids, minlength=len(table))[:, None]
    S = _sums(dA, ids, len(table))
    return S @ W / counts, S.T @ table


def dw_sign(dA, ids, table, W):
    S = _sums(dA, ids, len(table))
    return S @ W, -(S.T @ table)


EXERCISE = Exercise(
    name="embedded_projection_backward",
    title="An embedded input projection, per word: ∂L/∂table, dW_ih",
    chapter="making-it-fast.md",
    outputs=("d_table", "dW"),
    make_case=make_case,
    reference=reference,
    forward=forward,
    upstream="dA",
    grad_of={"d_table": "table", "dW": "W"},
    terms=terms,
    mutants=(
        Mutant("d_table[ids] = dA @ W", one_token_per_word,
               ("d_table", "missing term: the sum over a word's repeated tokens")),
        Mutant("dW transposed", dw_transposed, ("dW", "looks transposed")),
        Mutant("tokens averaged per word", words_averaged, ("d_table", "values differ")),
        Mutant("dW subtracted", dw_sign, ("dW", "sign flipped")),
    ),
)
