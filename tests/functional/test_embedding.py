"""The embedding pair: a gather forward, a scatter-add backward that sums repeated ids."""

import numpy as np
import pytest

import minidl
from minidl.errors import DTypeError, IndexRangeError
from minidl.functional.embedding import check_ids, embedding_backward, embedding_forward
from minidl.gradcheck import gradcheck_pair


def test_pair_gradcheck(device, to_dev):
    rng = np.random.default_rng(0)
    ids = np.array([[1, 3, 1], [4, 0, 3]])  # repeated ids: their gradients must add up
    r = gradcheck_pair(embedding_forward, embedding_backward,
                       {"ids": to_dev(ids), "weight": to_dev(rng.standard_normal((5, 2)))})
    assert r.ok and set(r.errors) == {"weight"}, str(r)


def test_padding_row_gets_no_gradient(device, to_dev):
    ids = to_dev(np.array([[0, 2, 0], [2, 2, 4]]))
    y, cache = embedding_forward(ids, to_dev(np.ones((5, 3))), padding_idx=0)
    g = minidl.asnumpy(embedding_backward(y * 0 + 1, cache)["weight"])
    assert np.all(g[0] == 0)
    np.testing.assert_allclose(g[2], 3.0)  # id 2 three times: the sum, not the last
    np.testing.assert_allclose(g[4], 1.0)


def test_check_ids():
    check_ids(np.array([], np.int64), 3)
    with pytest.raises(IndexRangeError, match=r"\[0, 3\).*token id -1"):
        check_ids(np.array([0, -1]), 3)
    with pytest.raises(IndexError, match="token id 3"):
        check_ids(np.array([3]), 3)
    with pytest.raises(DTypeError, match="ids must be an integer array"):
        check_ids(np.array([1.0]), 3)
