"""Exercise ``embedding_backward``: dW of a lookup with repeated ids (reference:
functional/embedding.py)."""

import numpy as np

from ...functional.embedding import embedding_backward as library_backward
from ...functional.embedding import embedding_forward
from ..spec import Case, Exercise, Mutant

__all__ = ["EXERCISE"]

SHAPES = ((2, 3, 4, 3), (3, 2, 5, 2), (2, 4, 3, 4), (1, 6, 4, 2))  # (B, T, V, E), V ≠ E


def make_case(rng, i):
    B, T, V, E = SHAPES[i % len(SHAPES)]
    # every id at least once (no zero row), and B·T > V: some ids repeat
    flat = np.concatenate([np.arange(V), rng.integers(0, V, B * T - V)])
    ids = rng.permutation(flat).reshape(B, T)
    W, dy = rng.standard_normal((V, E)), rng.standard_normal((B, T, E))
    return Case(args={"dy": dy, "ids": ids, "num_embeddings": V}, inputs={"W": W, "ids": ids})


def reference(case):
    a = case.args
    _, cache = embedding_forward(a["ids"], case.inputs["W"])
    return (library_backward(a["dy"], cache)["weight"],)


def forward(W, ids):
    return embedding_forward(ids, W)[0]


def _one_per_id(dy, ids, V):
    """What ``dW[ids] += dy`` gives: NumPy buffers the fancy index, so the last of the
    repeats wins and the others are lost."""
    dW = np.zeros((V, dy.shape[-1]))
    dW[ids] += dy
    return dW


def terms(case):
    a = case.args
    full = reference(case)[0]
    lost = full - _one_per_id(a["dy"], a["ids"], a["num_embeddings"])
    return {"dW": {"the sum over repeated ids (dW[ids] += dy keeps one per id: use np.add.at)": lost}}


# ---------------------------------------------------------------- typical wrong solutions
def no_accumulation(dy, ids, num_embeddings):
    return _one_per_id(dy, ids, num_embeddings)


def transposed(dy, ids, num_embeddings):
    dW = np.zeros((num_embeddings, dy.shape[-1]))
    np.add.at(dW, ids.reshape(-1), dy.reshape(-1, dy.shape[-1]))
    return dW.T


def sign(dy, ids, num_embeddings):
    dW = np.zeros((num_embeddings, dy.shape[-1]))
    np.subtract.at(dW, ids.reshape(-1), dy.reshape(-1, dy.shape[-1]))
    return dW


def averaged_repeats(dy, ids, num_embeddings):  # the mean over an id's positions, not the sum
    dW = np.zeros((num_embeddings, dy.shape[-1]))
    np.add.at(dW, ids.reshape(-1), dy.reshape(-1, dy.shape[-1]))
    return dW / np.maximum(np.bincount(ids.reshape(-1), minlength=num_embeddings), 1)[:, None]


EXERCISE = Exercise(
    name="embedding_backward",
    title="Embedding with repeated ids: dW",
    chapter="embedding.md",
    outputs=("dW",),
    make_case=make_case,
    reference=reference,
    forward=forward,
    upstream="dy",
    grad_of={"dW": "W"},
    terms=terms,
    mutants=(
        Mutant("dW[ids] += dy", no_accumulation, ("dW", "missing term: the sum over repeated ids")),
        Mutant("dW transposed", transposed, ("dW", "looks transposed")),
        Mutant("subtracted", sign, ("dW", "sign flipped")),
        Mutant("repeats averaged", averaged_repeats, ("dW", "values differ")),
    ),
)
