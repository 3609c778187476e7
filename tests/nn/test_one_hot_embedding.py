"""Report D compares one-hot, index and embedding inputs: one-hot rows times a weight
matrix are the embedding lookup, forward and backward (the gradient of the matrix,
X^T dY, is the embedding's scatter-add), with repeated ids and a padding id."""

import numpy as np
import pytest

import minidl
from minidl import backend, nn


def one_hot(ids, V):
    return np.eye(V)[ids]  # row k of the identity is the one-hot of id k


@pytest.mark.parametrize("padding_idx", [None, 0])
def test_one_hot_times_weight_is_the_lookup(padding_idx, device, to_dev):
    V, E = 7, 3
    with backend.default_dtype(np.float64):
        minidl.manual_seed(0)
        emb = nn.Embedding(V, E, padding_idx=padding_idx)
        lin = nn.Linear(V, E, bias=False)  # y = X Wᵀ: its weight is the table, transposed
    lin.weight.data[...] = emb.weight.data.T
    emb.to(device)
    lin.to(device)
    ids = np.array([[2, 5, 2, 0], [1, 2, 3, 3]])  # id 2 three times, id 3 twice, a padding id 0
    y_lookup = emb(to_dev(ids))
    y_matmul = lin(to_dev(one_hot(ids, V)))
    np.testing.assert_allclose(backend.asnumpy(y_matmul), backend.asnumpy(y_lookup), rtol=0, atol=0)

    dy = np.random.default_rng(1).standard_normal((2, 4, E))
    emb.backward(to_dev(dy))
    dx = lin.backward(to_dev(dy))
    d_table = backend.asnumpy(lin.weight.grad).T  # Xᵀ dY: row v sums dy wherever id v stands
    expected = np.zeros((V, E))
    np.add.at(expected, ids.reshape(-1), dy.reshape(-1, E))
    np.testing.assert_allclose(d_table, expected, rtol=1e-14, atol=1e-15)
    if padding_idx is not None:
        # the one exception: the embedding's padding row is frozen by rule, the matrix product's is not
        expected[padding_idx] = 0.0
        assert np.any(d_table[padding_idx] != 0)
    np.testing.assert_allclose(backend.asnumpy(emb.weight.grad), expected, rtol=1e-14, atol=1e-15)
    assert backend.asnumpy(dx).shape == (2, 4, V)  # a one-hot input gets a gradient; ids do not
